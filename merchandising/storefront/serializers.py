from rest_framework import serializers


class StorefrontProductSerializer(serializers.Serializer):
    """What a shop may show: public fields and live copy only (never drafts)."""

    sku = serializers.CharField()
    title = serializers.CharField()
    brand = serializers.CharField()
    category = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    image_url = serializers.CharField()
    in_stock = serializers.BooleanField()
    attributes = serializers.DictField(child=serializers.CharField())
    tags = serializers.ListField(child=serializers.CharField())
    copy = serializers.DictField()
    variant = serializers.DictField(required=False, allow_null=True)

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from merchandising.inputs import DB_INT_MAX

from . import csv_format
from .models import COPY_FIELDS, LIST_COPY_FIELDS, Product


class CopySerializer(serializers.Serializer):
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=csv_format.MAX_LENGTHS["description"]
    )
    seo_title = serializers.CharField(
        required=False, allow_blank=True, max_length=csv_format.MAX_LENGTHS["seo_title"]
    )
    seo_description = serializers.CharField(
        required=False, allow_blank=True, max_length=csv_format.MAX_LENGTHS["seo_description"]
    )
    ad_headlines = serializers.ListField(
        child=serializers.CharField(max_length=csv_format.MAX_LIST_ITEM),
        required=False,
        max_length=csv_format.MAX_LIST_ITEMS,
    )
    ad_descriptions = serializers.ListField(
        child=serializers.CharField(max_length=csv_format.MAX_LIST_ITEM),
        required=False,
        max_length=csv_format.MAX_LIST_ITEMS,
    )


class ProductWriteSerializer(serializers.Serializer):
    """What a merchant may send to create or change a product; the same limits as the CSV."""

    sku = serializers.RegexField(
        csv_format.SKU_PATTERN,
        max_length=csv_format.MAX_LENGTHS["sku"],
        error_messages={"invalid": csv_format.SKU_RULE_FORMAT},
        help_text=csv_format.SKU_RULE,
    )
    title = serializers.CharField(max_length=300)
    brand = serializers.CharField(max_length=120, required=False, allow_blank=True)
    category = serializers.CharField(max_length=300, required=False, allow_blank=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal(0))
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)
    stock = serializers.IntegerField(min_value=0, max_value=DB_INT_MAX, required=False)
    status = serializers.ChoiceField(choices=Product.Status.choices, required=False)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=50
    )
    image_url = serializers.URLField(max_length=1000, required=False, allow_blank=True)
    attributes = serializers.DictField(
        child=serializers.CharField(max_length=csv_format.MAX_ATTRIBUTE_VALUE, allow_blank=True),
        required=False,
    )
    copy = CopySerializer(required=False)

    def validate_attributes(self, value: dict) -> dict:
        if len(value) > csv_format.MAX_ATTRIBUTES:
            raise serializers.ValidationError(f"At most {csv_format.MAX_ATTRIBUTES} attributes.")
        for name in value:
            if not name.strip() or len(name) > csv_format.MAX_ATTRIBUTE_NAME:
                raise serializers.ValidationError(
                    f"Attribute name {name[:40]!r} is empty or too long."
                )
            # PostgreSQL's jsonb cannot hold NUL (a 500 otherwise); no control characters at all.
            if any(ord(c) < 32 or ord(c) == 127 for c in name):
                raise serializers.ValidationError(
                    f"Attribute name {name[:40]!r} contains control characters."
                )
        return {k.strip(): v.strip() for k, v in value.items() if v.strip()}

    def validate_sku(self, value: str) -> str:
        problem = csv_format.sku_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_category(self, value: str) -> str:
        return " > ".join(p.strip() for p in value.split(">") if p.strip())


class ProductUpdateSerializer(ProductWriteSerializer):
    sku = None

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


class BulkUpsertSerializer(serializers.Serializer):
    products = ProductWriteSerializer(many=True, allow_empty=False, max_length=5000)


class ProductSerializer(serializers.ModelSerializer):
    copy = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "sku",
            "title",
            "brand",
            "category",
            "price",
            "currency",
            "attributes",
            "tags",
            "image_url",
            "stock",
            "status",
            "copy",
            "created_at",
            "updated_at",
        ]

    def get_copy(self, product: Product) -> dict:
        copies = getattr(product, "_live_copy", None)
        if copies is None:
            copies = {
                c.field: {"value": c.value, "source": c.source} for c in product.live_copy.all()
            }
        return {f: copies[f] for f in COPY_FIELDS if f in copies}


class CopyRevisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    field = serializers.CharField()
    value = serializers.JSONField()
    previous_value = serializers.JSONField()
    source = serializers.CharField()
    note = serializers.CharField()
    created_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_created_by(self, obj) -> str | None:
        return obj.created_by.get_username() if obj.created_by_id else None


class EncodingField(serializers.ChoiceField):
    """One of csv_format.ENCODING_NAMES; other spellings of them ("UTF8", "latin1") are accepted."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "error_messages",
            {
                "invalid_choice": '"{input}" is not an accepted text encoding; use one of '
                + ", ".join(csv_format.ENCODING_NAMES)
                + "."
            },
        )
        kwargs.setdefault("help_text", "The file's text encoding.")
        super().__init__(choices=csv_format.ENCODING_NAMES, **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(csv_format.encoding_name(str(data)) or str(data)[:40])


class ImportSerializer(serializers.Serializer):
    file = serializers.FileField()
    partial = serializers.BooleanField(
        default=False, help_text="Import the valid rows even if some are bad."
    )
    encoding = EncodingField(default="utf-8")
    format = serializers.ChoiceField(
        choices=["auto", "merchlab", "shopify", "woocommerce"],
        default="auto",
        help_text="The file's layout; auto detects it from the header.",
    )


def list_field_names() -> tuple[str, ...]:
    return LIST_COPY_FIELDS

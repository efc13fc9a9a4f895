from rest_framework import serializers
from rest_framework.response import Response

from .api_base import MerchantAPIView


class MerchantSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField()
    storefront_origins = serializers.ListField(child=serializers.CharField())


class MeAPI(MerchantAPIView):
    """The merchant this request acts for, and the caller's role."""

    serializer_class = MerchantSerializer

    def get(self, request):
        m = request.merchant
        return Response(
            MerchantSerializer(
                {
                    "slug": m.slug,
                    "name": m.name,
                    "role": request.role,
                    "storefront_origins": m.storefront_origins,
                }
            ).data
        )

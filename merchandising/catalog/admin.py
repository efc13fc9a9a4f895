from django.contrib import admin

from .models import CopyRevision, LiveCopy, Product


class LiveCopyInline(admin.TabularInline):
    model = LiveCopy
    extra = 0
    readonly_fields = ["field", "value", "source", "updated_at"]
    fields = readonly_fields


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "title", "merchant", "brand", "category", "price", "stock", "status"]
    list_filter = ["status", "merchant"]
    search_fields = ["sku", "title", "brand"]
    inlines = [LiveCopyInline]


@admin.register(CopyRevision)
class CopyRevisionAdmin(admin.ModelAdmin):
    list_display = ["product", "field", "source", "created_by", "created_at"]
    list_filter = ["field", "source"]
    readonly_fields = [f.name for f in CopyRevision._meta.fields]

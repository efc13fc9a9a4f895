from __future__ import annotations

from decimal import Decimal

from django import forms

from merchandising.accounts.models import ApiKey, Role
from merchandising.catalog import csv_format
from merchandising.catalog.models import Product
from merchandising.inputs import DB_INT_MAX


class ProductForm(forms.Form):
    title = forms.CharField(max_length=300)
    brand = forms.CharField(max_length=120, required=False)
    category = forms.CharField(
        max_length=300, required=False, help_text='For example "Kitchen > Cookware".'
    )
    price = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal(0))
    currency = forms.RegexField(r"^[A-Z]{3}$", max_length=3)
    stock = forms.IntegerField(min_value=0, max_value=DB_INT_MAX)
    status = forms.ChoiceField(choices=Product.Status.choices)
    image_url = forms.URLField(max_length=1000, required=False, assume_scheme="https")
    tags = forms.CharField(required=False, help_text="Separated by commas.")
    attributes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One per line: name: value",
    )
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 5}), max_length=10_000
    )
    seo_title = forms.CharField(required=False, max_length=300)
    seo_description = forms.CharField(
        required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_tags(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]

    def clean_category(self) -> str:
        return " > ".join(p.strip() for p in self.cleaned_data["category"].split(">") if p.strip())

    def clean_attributes(self) -> dict[str, str]:
        attributes: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data["attributes"].splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise forms.ValidationError(f"Line {number}: write attributes as 'name: value'.")
            if (
                len(name.strip()) > csv_format.MAX_ATTRIBUTE_NAME
                or len(value.strip()) > csv_format.MAX_ATTRIBUTE_VALUE
            ):
                raise forms.ValidationError(f"Line {number}: the name or value is too long.")
            attributes[name.strip()] = value.strip()
        return attributes

    @staticmethod
    def initial_for(product: Product, live_copy: dict) -> dict:
        return {
            "title": product.title,
            "brand": product.brand,
            "category": product.category,
            "price": product.price,
            "currency": product.currency,
            "stock": product.stock,
            "status": product.status,
            "image_url": product.image_url,
            "tags": ", ".join(product.tags or []),
            "attributes": "\n".join(f"{k}: {v}" for k, v in (product.attributes or {}).items()),
            **{
                f: live_copy[f]["value"]
                for f in ("description", "seo_title", "seo_description")
                if f in live_copy
            },
        }


ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "cp1252": "Windows-1252 (Excel)",
    "latin-1": "ISO-8859-1 (Latin-1)",
    "mac-roman": "Mac Roman",
}


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header row; sku, title and price are required.")
    partial = forms.BooleanField(
        required=False, label="Import the valid rows even if some rows are bad"
    )
    encoding = forms.ChoiceField(
        choices=[
            (name, ENCODING_LABELS.get(name, name.upper())) for name in csv_format.ENCODING_NAMES
        ],
        initial="utf-8",
    )


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=ApiKey.Kind.choices)


class MerchantSettingsForm(forms.Form):
    name = forms.CharField(max_length=200)
    default_currency = forms.RegexField(r"^[A-Z]{3}$", max_length=3)
    storefront_origins = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One origin per line, e.g. https://shop.example.com",
    )


class PlatformImportForm(forms.Form):
    file = forms.FileField(
        help_text="The product CSV exported from the Shopify admin or WooCommerce (UTF-8)."
    )
    format = forms.ChoiceField(
        choices=[
            ("auto", "Detect from the header"),
            ("shopify", "Shopify product CSV"),
            ("woocommerce", "WooCommerce product CSV"),
        ],
        initial="auto",
    )
    partial = forms.BooleanField(
        required=False, label="Import the valid products even if some rows are bad"
    )

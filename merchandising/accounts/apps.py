from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "merchandising.accounts"
    label = "accounts"
    verbose_name = "Merchants and staff"

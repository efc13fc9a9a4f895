from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "merchandising.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard"

"""Dashboard pages of the foundation: home, catalog, imports, jobs, staff, keys and settings."""

from __future__ import annotations

import io
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from contentgen import selectors as content_selectors
from contentgen.review import services as review_services
from contentgen.review.selectors import _segment_names
from merchandising.accounts import selectors as accounts
from merchandising.accounts import services as account_services
from merchandising.catalog import selectors as catalog
from merchandising.catalog import services as catalog_services
from merchandising.catalog.models import Product
from merchandising.catalog.services_platforms import import_format_detect
from merchandising.experiments import selectors as experiment_selectors
from merchandising.jobs import selectors as jobs
from merchandising.jobs import services as job_services
from merchandising.jobs.models import Job
from merchandising.tracking import selectors as tracking_selectors
from recsys import selectors as recsys_selectors

from .base import MerchantPageMixin
from .forms import ApiKeyForm, ImportForm, InviteForm, MerchantSettingsForm, ProductForm, RoleForm
from .summaries import model_quality

PAGE_SIZE = 50
# Catalog columns a merchant may sort by: URL value -> model field.
SORTS = {
    "sku": "sku",
    "title": "title",
    "price": "price",
    "stock": "stock",
    "updated": "updated_at",
}
SORT_LABELS = [("sku", "SKU"), ("title", "Title"), ("price", "Price"), ("stock", "Stock")]
BULK_LIMIT = 200


class Page(MerchantPageMixin, TemplateView):
    pass


class MerchantPickerView(TemplateView):
    """/ : send a signed-in user to their merchant (or let them pick one)."""

    template_name = "dashboard/pick_merchant.html"

    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect("login")
        memberships = list(accounts.memberships_for_user(request.user))
        preferred = request.session.get("merchant_slug")
        for membership in memberships:
            if membership.merchant.slug == preferred:
                return redirect("dashboard:home", merchant_slug=preferred)
        if len(memberships) == 1:
            return redirect("dashboard:home", merchant_slug=memberships[0].merchant.slug)
        return self.render_to_response({"memberships": memberships})


class HomeView(Page):
    """What needs the merchant now: drafts to review, running experiments and their reading,
    the serving model's quality in words, failed jobs, and the first steps of a new shop."""

    template_name = "dashboard/home.html"
    nav = "home"
    RUNNING_SHOWN = 5

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        merchant = self.request.merchant
        products = Product.objects.filter(merchant=merchant)
        product_count = catalog.catalog_count(merchant)
        running = []
        for experiment in experiment_selectors.experiments_list(merchant, status="running")[
            : self.RUNNING_SHOWN
        ]:
            analysis = experiment_selectors.experiment_report(merchant, experiment)["analysis"]
            reading = analysis["decision"]["sentence"] if analysis else "No visitors yet."
            running.append({"experiment": experiment, "reading": reading})
        model = recsys_selectors.active_model_version(merchant)
        recent = jobs.jobs_recent(merchant, limit=50)
        failed = [j for j in recent if j.status == Job.Status.FAILED][:5]
        voice_saved = content_selectors.brand_voice_for(merchant).pk is not None
        steps = [
            ("Import products", product_count > 0, "dashboard:import"),
            ("Describe your brand voice", voice_saved, "dashboard:content-voice"),
            ("Generate product copy", content_selectors.drafts_list(merchant).exists(), "dashboard:content"),
            ("Put the widget on your storefront", tracking_selectors.events_exist(merchant), "dashboard:recommendations"),
        ]  # fmt: skip
        context.update(
            product_count=product_count,
            active_count=products.filter(status=Product.Status.ACTIVE).count(),
            out_of_stock=products.filter(status=Product.Status.ACTIVE, stock__lte=0).count(),
            recent_jobs=recent[:5],
            failed_jobs=failed,
            running=running,
            model=model,
            model_quality=model_quality(model) if model else None,
            steps=[{"label": label, "done": done, "url": url} for label, done, url in steps],
            new_shop=not all(done for _, done, _ in steps),
        )
        return context


class ProductListView(Page):
    template_name = "dashboard/catalog/list.html"
    nav = "catalog"

    def get_template_names(self):
        if self.request.htmx and self.request.htmx.target == "product-results":
            return ["dashboard/catalog/_results.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        filters = {
            k: params.get(k, "")[:300] for k in ("q", "category", "brand", "status", "stock")
        }
        qs = catalog.products_list(self.request.merchant, **filters).only(
            "sku",
            "title",
            "brand",
            "category",
            "price",
            "currency",
            "stock",
            "status",
            "updated_at",
            "image_url",
        )
        sort = params.get("sort", "sku")
        if sort.lstrip("-") not in SORTS:
            sort = "sku"
        order = ("-" if sort.startswith("-") else "") + SORTS[sort.lstrip("-")]
        paginator = Paginator(qs.order_by(order, "sku"), PAGE_SIZE)
        if not any(filters.values()):
            # The unfiltered count is a pass over the whole catalog: use the cached one.
            paginator.count = catalog.catalog_count(self.request.merchant)
        page = paginator.get_page(params.get("page"))
        query = params.copy()
        query.pop("page", None)
        unsorted = query.copy()
        unsorted.pop("sort", None)
        context.update(
            sort=sort,
            columns=[
                {
                    "key": key,
                    "label": label,
                    "num": key in ("price", "stock"),
                    "href": f"?{unsorted.urlencode()}&sort={'-' if sort == key else ''}{key}",
                    "state": "ascending"
                    if sort == key
                    else "descending"
                    if sort == f"-{key}"
                    else "",
                }
                for key, label in SORT_LABELS
            ],
            filters=filters,
            page=page,
            facets=catalog.facet_values(self.request.merchant),
            query=query.urlencode(),
        )
        return context


class ProductBulkView(MerchantPageMixin, View):
    """POST from the catalog's selection: generate copy for the chosen products (the Content
    page, pre-filled) or archive them."""

    def post(self, request, *args, **kwargs):
        skus = [s.strip() for s in request.POST.getlist("sku") if s.strip()][:BULK_LIMIT]
        back = redirect("dashboard:products", merchant_slug=request.merchant.slug)
        if not skus:
            messages.error(request, "Select at least one product first.")
            return back
        action = request.POST.get("bulk_action")
        if action == "generate":
            url = reverse("dashboard:content", kwargs={"merchant_slug": request.merchant.slug})
            return redirect(f"{url}?{urlencode({'skus': ' '.join(skus)})}")
        if action == "archive":
            archived = 0
            with transaction.atomic():
                for product in catalog.products_by_skus(request.merchant, skus):
                    if product.status != Product.Status.ARCHIVED:
                        catalog_services.product_archive(product=product)
                        archived += 1
            messages.success(request, f"Archived {archived} product{'s' if archived != 1 else ''}.")
            return back
        messages.error(request, "Unknown action.")
        return back


class ProductDetailView(Page):
    template_name = "dashboard/catalog/detail.html"
    nav = "catalog"

    def product(self) -> Product:
        try:
            return catalog.product_get_by_id(self.request.merchant, self.kwargs["product_id"])
        except Product.DoesNotExist:
            raise Http404("No such product.") from None

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        product = self.product()
        live = catalog.product_live_copy(product)
        context.update(
            product=product,
            live_copy=live,
            form=form or ProductForm(initial=ProductForm.initial_for(product, live)),
            history=_history_rows(product),
        )
        return context

    def post(self, request, *args, **kwargs):
        product = self.product()
        form = ProductForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        data = dict(form.cleaned_data)
        data["copy"] = {f: data.pop(f) for f in ("description", "seo_title", "seo_description")}
        try:
            catalog_services.product_update(
                product=product, data=data, user=request.user, by_hand=True
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
            return self.render_to_response(self.get_context_data(form=form), status=400)
        messages.success(request, f"Saved {product.sku}.")
        return redirect(
            "dashboard:product", merchant_slug=request.merchant.slug, product_id=product.pk
        )


def _history_rows(product: Product, limit: int = 50) -> list:
    """The copy history newest first, each revision marked: `segment_name` for a segment's own
    copy (the general copy is not affected by it), `is_live` for the text shoppers get now, and
    `can_revert` only where reverting would change what is live."""
    history = list(catalog.copy_history(product).order_by("-created_at", "-id")[:limit])
    live = catalog.live_copy_by_scope(product)
    names = _segment_names(product.merchant, {r.segment for r in history if r.segment})
    for r in history:
        current = live.get((r.field, r.segment))
        r.segment_name = names.get(r.segment, f"segment {r.segment}") if r.segment else ""
        r.is_live = current is not None and current["revision_id"] == r.pk
        r.can_revert = r.value not in ("", [], None) and (
            current is None or current["value"] != r.value
        )
    return history


class CopyRevertView(MerchantPageMixin, View):
    write_role = "reviewer"

    def post(self, request, *args, **kwargs):
        try:
            product = catalog.product_get_by_id(request.merchant, kwargs["product_id"])
            # Through the review module so that the revert is in the audit log like every decision.
            review_services.copy_revert(
                product=product, revision_id=kwargs["revision_id"], user=request.user
            )
        except (Product.DoesNotExist, catalog_services.CopyRevision.DoesNotExist):
            raise Http404("No such product or revision.") from None
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Reverted; the earlier text is live again.")
        return redirect(
            "dashboard:product",
            merchant_slug=request.merchant.slug,
            product_id=kwargs["product_id"],
        )


class ExportView(Page):
    def get(self, request, *args, **kwargs):
        out = io.StringIO()
        filters = {
            k: request.GET.get(k, "")[:300] for k in ("q", "category", "brand", "status", "stock")
        }
        catalog_services.product_export_csv(
            merchant=request.merchant,
            out=out,
            queryset=catalog.products_list(request.merchant, **filters),
        )
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{request.merchant.slug}-catalog.csv"'
        )
        return response


class ImportView(Page):
    template_name = "dashboard/catalog/import.html"
    nav = "catalog"

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            form=form or ImportForm(),
            imports=jobs.jobs_recent(self.request.merchant, kind="catalog_import", limit=10),
        )
        return context

    def post(self, request, *args, **kwargs):
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        upload = form.cleaned_data["file"]
        content = upload.read()
        job = catalog_services.product_import_submit(
            merchant=request.merchant,
            data=content,
            filename=upload.name,
            encoding=form.cleaned_data["encoding"],
            partial=form.cleaned_data["partial"],
            user=request.user,
            # A Shopify or WooCommerce export dropped here is recognised by its header.
            format=import_format_detect(content),
        )
        return redirect("dashboard:job", merchant_slug=request.merchant.slug, job_id=job.pk)


class JobListView(Page):
    template_name = "dashboard/jobs/list.html"
    nav = "jobs"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["jobs"] = jobs.jobs_recent(self.request.merchant, limit=100)
        return context


class JobDetailView(Page):
    """A job with its progress bar; htmx polls the `_job` fragment until the job finishes."""

    template_name = "dashboard/jobs/detail.html"
    nav = "jobs"

    def get_template_names(self):
        if self.request.htmx:
            return ["dashboard/jobs/_job.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            job = jobs.job_get(self.request.merchant, self.kwargs["job_id"])
        except Job.DoesNotExist:
            raise Http404("No such job.") from None
        result = job.result or {}
        valid_rows = 0
        if (
            job.kind == "catalog_import"
            and job.status == Job.Status.FAILED
            and result.get("written") is False
        ):
            valid_rows = max(0, int(result.get("rows") or 0) - int(result.get("bad_rows") or 0))
        context.update(job=job, valid_rows=valid_rows)
        return context


class JobCancelView(MerchantPageMixin, View):
    def post(self, request, *args, **kwargs):
        try:
            job_services.job_cancel(
                merchant=request.merchant, job_id=kwargs["job_id"], user=request.user
            )
        except Job.DoesNotExist:
            raise Http404("No such job.") from None
        return redirect(
            "dashboard:job", merchant_slug=request.merchant.slug, job_id=kwargs["job_id"]
        )


class ImportValidRowsView(MerchantPageMixin, View):
    """POST: import the valid rows of a file whose all-or-nothing import failed on bad rows."""

    def post(self, request, *args, **kwargs):
        try:
            failed = jobs.job_get(request.merchant, kwargs["job_id"])
            job = catalog_services.product_import_valid_rows(job=failed, user=request.user)
        except Job.DoesNotExist:
            raise Http404("No such job.") from None
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(
                "dashboard:job", merchant_slug=request.merchant.slug, job_id=kwargs["job_id"]
            )
        messages.success(request, f"Importing the valid rows of {failed.params.get('filename')}.")
        return redirect("dashboard:job", merchant_slug=request.merchant.slug, job_id=job.pk)


class StaffView(Page):
    template_name = "dashboard/settings/staff.html"
    nav = "settings"
    write_role = "owner"

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        merchant = self.request.merchant
        context.update(
            staff=accounts.staff_list(merchant),
            invitations=accounts.invitations_pending(merchant),
            form=form or InviteForm(),
            role_form=RoleForm(),
        )
        return context

    def post(self, request, *args, **kwargs):
        form = InviteForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        account_services.invitation_create(
            merchant=request.merchant,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            invited_by=request.user,
            base_url=request.build_absolute_uri("/"),
        )
        messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
        return redirect("dashboard:staff", merchant_slug=request.merchant.slug)


class StaffChangeView(MerchantPageMixin, View):
    write_role = "owner"

    def post(self, request, *args, **kwargs):
        membership = (
            accounts.staff_list(request.merchant).filter(pk=kwargs["membership_id"]).first()
        )
        if membership is None:
            raise Http404("No such member.")
        try:
            if request.POST.get("action") == "remove":
                account_services.membership_remove(
                    merchant=request.merchant, membership_id=membership.pk
                )
                messages.success(request, f"{membership.user} no longer has access.")
            else:
                form = RoleForm(request.POST)
                if form.is_valid():
                    with transaction.atomic():
                        account_services.membership_set(
                            merchant=request.merchant,
                            user=membership.user,
                            role=form.cleaned_data["role"],
                        )
                    messages.success(
                        request, f"{membership.user} is now {form.cleaned_data['role']}."
                    )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("dashboard:staff", merchant_slug=request.merchant.slug)


class ApiKeysView(Page):
    template_name = "dashboard/settings/keys.html"
    nav = "settings"
    required_role = "owner"
    write_role = "owner"

    def get_context_data(self, form=None, new_key=None, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            keys=accounts.api_keys_list(self.request.merchant),
            form=form or ApiKeyForm(),
            new_key=new_key,
        )
        return context

    def post(self, request, *args, **kwargs):
        if "revoke" in request.POST:
            try:
                key = account_services.api_key_revoke(
                    merchant=request.merchant, key_id=int(request.POST["revoke"])
                )
            except (ValueError, account_services.ApiKey.DoesNotExist):
                raise Http404("No such key.") from None
            messages.success(request, f"Revoked {key.name}; it stopped working at once.")
            return redirect("dashboard:keys", merchant_slug=request.merchant.slug)
        form = ApiKeyForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        key, raw = account_services.api_key_create(
            merchant=request.merchant,
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
            created_by=request.user,
        )
        # A secret key is rendered once in this response and never stored: the page says so.
        return self.render_to_response(self.get_context_data(new_key={"key": key, "raw": raw}))


class SettingsView(Page):
    template_name = "dashboard/settings/general.html"
    nav = "settings"
    write_role = "owner"

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        merchant = self.request.merchant
        context["form"] = form or MerchantSettingsForm(
            initial={
                "name": merchant.name,
                "default_currency": merchant.default_currency,
                "storefront_origins": "\n".join(merchant.storefront_origins),
            }
        )
        return context

    def post(self, request, *args, **kwargs):
        form = MerchantSettingsForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        merchant = request.merchant
        try:
            with transaction.atomic():
                merchant.name = form.cleaned_data["name"]
                merchant.default_currency = form.cleaned_data["default_currency"]
                merchant.save(update_fields=["name", "default_currency"])
                account_services.merchant_update_origins(
                    merchant=merchant, origins=form.cleaned_data["storefront_origins"].splitlines()
                )
        except ValidationError as exc:
            form.add_error("storefront_origins", " ".join(exc.messages))
            return self.render_to_response(self.get_context_data(form=form), status=400)
        messages.success(request, "Settings saved.")
        return redirect("dashboard:settings", merchant_slug=merchant.slug)


class ComingSoonView(Page):
    """Sections whose pages arrive with later work; each says what it will hold."""

    template_name = "dashboard/coming_soon.html"
    section = ""
    blurb = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(section=self.section, blurb=self.blurb)
        return context

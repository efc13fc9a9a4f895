"""Deterministic demo catalog: believable products over a small shop taxonomy.

Pure module (no Django import) so the seed command, tests and benchmarks can all use it.

Every product is generated from ``random.Random(f"{seed}:{index}")`` alone, so product ``i``
is the same whatever the catalog size: the first 360 rows of a 50,000-row benchmark file are
the demo catalog itself. Leaf categories are dealt round-robin, so every size is balanced.

Images are small SVG placeholder tiles (the category's initials on the product's colour) that
the app serves itself at ``/demo/images/<leaf code>-<colour>.svg`` (``placeholder_images()``
holds every file's SVG text). ``image_url`` is that path made absolute (``DEFAULT_IMAGE_BASE``, or
the ``images=`` base URL the seeding code passes for its own address), because the catalog importer
accepts only http(s) URLs. No outside host is ever named. ``images="data"`` gives self-contained
SVG ``data:`` URIs instead (for code that does not go through the importer) and
``images="none"`` leaves the field empty (smaller benchmark files).

About one product in five is deliberately *thin* (no description, or a bare one-line spec, and
no SEO fields): those are the ones where generated copy shows its value in the demo.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

#: Where the placeholder images live: the app's own image view on the demo's default address.
DEFAULT_IMAGE_BASE = "http://127.0.0.1:8000/demo/images"

SEO_TITLE_MAX = 60
SEO_DESCRIPTION_MAX = 155

#: Base columns of the import format, in order; one column per attribute follows them.
CSV_BASE_COLUMNS = [
    "sku",
    "title",
    "brand",
    "category",
    "price",
    "currency",
    "stock",
    "status",
    "tags",
    "image_url",
    "description",
    "seo_title",
    "seo_description",
]
TAG_SEPARATOR = "|"

#: Rough exchange rates from the EUR list prices; the demo shop prices in one currency.
CURRENCY_RATES = {"EUR": Decimal("1"), "USD": Decimal("1.08"), "GBP": Decimal("0.86")}

# Price tiers of the fictional brands: they move a product inside its category's price range.
TIER_POSITION = {"budget": (0.0, 0.35), "mid": (0.25, 0.7), "premium": (0.6, 1.0)}

COLOR_HEX = {
    "black": "#222222",
    "white": "#d9d9d9",
    "grey": "#7a7a7a",
    "graphite": "#3b3f45",
    "navy": "#1f2f5c",
    "sky blue": "#5aa0d8",
    "forest green": "#2f5d3a",
    "sage": "#8fa883",
    "olive": "#6b6b2f",
    "red": "#b3262e",
    "terracotta": "#c0603a",
    "mustard": "#c99a2e",
    "sand": "#c8b48a",
    "cream": "#efe6cf",
    "blush pink": "#e3a5a8",
    "plum": "#6a2e55",
    "copper": "#b87333",
    "silver": "#a8a9ad",
    "natural": "#b89b72",
    "orange": "#e07b22",
}


@dataclass(frozen=True)
class Brand:
    name: str
    tier: str  # budget | mid | premium


@dataclass(frozen=True)
class Leaf:
    """One leaf category: what its products are called, cost, and what they are made of."""

    path: str
    code: str  # SKU prefix
    noun: str  # singular, lower case, as in a sentence
    price_range: tuple[float, float]  # EUR, budget floor to premium ceiling
    brands: tuple[Brand, ...]
    lines: tuple[str, ...]  # model/product line names used in titles
    # attribute name -> values; the first names in ``title_attrs`` go into the title
    attributes: dict[str, tuple[str, ...]]
    title_attrs: tuple[str, ...]
    tags: tuple[str, ...]
    benefits: tuple[str, ...]  # sentences about the product, may use {attribute} fields
    uses: tuple[str, ...]  # "ideal for ..." fragments
    care: tuple[str, ...] = field(default=())


def _b(*pairs: str) -> tuple[Brand, ...]:
    out = []
    for pair in pairs:
        name, tier = pair.rsplit(":", 1)
        out.append(Brand(name, tier))
    return tuple(out)


TAXONOMY: tuple[Leaf, ...] = (
    Leaf(
        path="Kitchen > Cookware > Saucepans",
        code="KCS",
        noun="saucepan",
        price_range=(14, 169),
        brands=_b(
            "Hearthwell:mid", "Copperleaf:premium", "PanPal:budget", "Maison Ferrand:premium"
        ),
        lines=("Classic", "Chef", "Everyday", "Heritage", "Pro"),
        attributes={
            "diameter": ("14 cm", "16 cm", "18 cm", "20 cm"),
            "material": (
                "stainless steel",
                "hard-anodised aluminium",
                "copper",
                "enamelled cast iron",
            ),
            "capacity": ("1.2 L", "1.5 L", "2 L", "3 L"),
            "color": ("silver", "copper", "black", "cream", "red"),
            "induction_ready": ("yes", "no"),
        },
        title_attrs=("diameter", "material"),
        tags=("cookware", "saucepan", "hob", "dishwasher safe", "oven safe"),
        benefits=(
            "The {material} body spreads heat evenly, so sauces simmer without scorching.",
            "A {capacity} capacity suits everyday portions of rice, custard or soup.",
            "The riveted handle stays comfortable and the glass lid lets you watch the pot.",
            "Measuring marks inside the pan save a jug when you make stock or porridge.",
        ),
        uses=("small households", "weeknight cooking", "sauces and grains"),
        care=("Wash by hand to keep the finish bright.", "Dishwasher safe; dry straight after."),
    ),
    Leaf(
        path="Kitchen > Cookware > Frying Pans",
        code="KCF",
        noun="frying pan",
        price_range=(12, 149),
        brands=_b("Hearthwell:mid", "Copperleaf:premium", "PanPal:budget", "Ironvale:mid"),
        lines=("Classic", "Sear", "Everyday", "Heritage", "Pro"),
        attributes={
            "diameter": ("20 cm", "24 cm", "28 cm", "30 cm"),
            "material": (
                "carbon steel",
                "cast iron",
                "ceramic-coated aluminium",
                "tri-ply stainless steel",
            ),
            "color": ("black", "graphite", "silver", "sage"),
            "induction_ready": ("yes", "no"),
        },
        title_attrs=("diameter", "material"),
        tags=("cookware", "frying pan", "non-stick", "oven safe"),
        benefits=(
            "{material} holds heat well enough for a proper sear on steak or tofu.",
            "The flared sides make it easy to toss vegetables and slide out an omelette.",
            "It goes from hob to oven, so frittatas finish under the grill.",
            "A long handle keeps your hand away from the heat.",
        ),
        uses=("searing and stir-frying", "breakfasts", "one-pan dinners"),
        care=("Dry on the hob and wipe with a little oil.", "Avoid metal utensils on the coating."),
    ),
    Leaf(
        path="Kitchen > Knives > Chef's Knives",
        code="KKC",
        noun="chef's knife",
        price_range=(15, 220),
        brands=_b("Edgeworth:premium", "Kirisaki:premium", "SliceRight:budget", "Hearthwell:mid"),
        lines=("Gyuto", "Classic", "Damask", "Prep", "Artisan"),
        attributes={
            "blade_length": ("15 cm", "18 cm", "20 cm", "23 cm"),
            "material": (
                "German stainless steel",
                "Damascus steel",
                "high-carbon steel",
                "ceramic",
            ),
            "handle": ("olive wood", "pakka wood", "polypropylene", "walnut"),
            "color": ("black", "natural", "silver"),
        },
        title_attrs=("blade_length", "material"),
        tags=("knife", "chef knife", "prep", "gift"),
        benefits=(
            "The {blade_length} {material} blade is honed to a keen edge that keeps its bite.",
            "A full tang and {handle} handle give balance for long prep sessions.",
            "It slices onions, herbs and chicken with equal ease.",
        ),
        uses=("daily prep", "keen home cooks", "gifting"),
        care=("Hand wash and dry at once.", "Hone weekly and store in a block or on a magnet."),
    ),
    Leaf(
        path="Kitchen > Small Appliances > Kettles",
        code="KAK",
        noun="kettle",
        price_range=(18, 160),
        brands=_b("Brewhaus:mid", "Quickboil:budget", "Aalto Home:premium", "Hearthwell:mid"),
        lines=("Rapid", "Retro", "Pour", "Smart", "Quiet"),
        attributes={
            "capacity": ("1 L", "1.5 L", "1.7 L"),
            "power": ("2200 W", "2400 W", "3000 W"),
            "material": ("brushed stainless steel", "glass", "matt plastic"),
            "color": ("white", "black", "cream", "sky blue", "red"),
            "temperature_control": ("yes", "no"),
        },
        title_attrs=("capacity", "material"),
        tags=("kettle", "tea", "coffee", "appliance"),
        benefits=(
            "At {power} it boils a full {capacity} in a few minutes.",
            "A limescale filter and a visible water window make refills simple.",
            "It switches off by itself and will not run dry.",
        ),
        uses=("tea drinkers", "office kitchens", "pour-over coffee"),
    ),
    Leaf(
        path="Home > Bedding > Duvet Covers",
        code="HBD",
        noun="duvet cover set",
        price_range=(19, 189),
        brands=_b("Linden & Loom:premium", "Snoozy:budget", "Nordvik Home:mid", "Cotton Cove:mid"),
        lines=("Washed", "Percale", "Sateen", "Waffle", "Linen Blend"),
        attributes={
            "size": ("single", "double", "king", "super king"),
            "material": (
                "organic cotton percale",
                "cotton sateen",
                "stonewashed linen",
                "brushed cotton",
            ),
            "thread_count": ("180", "200", "300", "400"),
            "color": ("white", "grey", "sage", "terracotta", "blush pink", "navy", "sand"),
        },
        title_attrs=("material", "size"),
        tags=("bedding", "bedroom", "duvet cover", "pillowcases"),
        benefits=(
            "{material} at {thread_count} thread count feels cool in summer and cosy in winter.",
            "Hidden button fastening and corner ties keep the duvet in place.",
            "The set includes matching pillowcases.",
        ),
        uses=("guest rooms", "everyday sleep", "a calm bedroom"),
        care=("Machine wash at 40 °C.", "Tumble dry low; iron while slightly damp."),
    ),
    Leaf(
        path="Home > Lighting > Table Lamps",
        code="HLT",
        noun="table lamp",
        price_range=(22, 260),
        brands=_b(
            "Lumen Atelier:premium", "Brightly:budget", "Nordvik Home:mid", "Aalto Home:premium"
        ),
        lines=("Dome", "Arc", "Globe", "Mushroom", "Column"),
        attributes={
            "height": ("30 cm", "42 cm", "55 cm"),
            "material": ("ceramic", "brass", "opal glass", "rattan", "powder-coated steel"),
            "color": ("white", "black", "mustard", "sage", "terracotta", "natural"),
            "bulb": ("E14 LED included", "E27 LED included", "integrated LED"),
        },
        title_attrs=("material",),
        tags=("lighting", "lamp", "living room", "bedside"),
        benefits=(
            "A {material} base and soft shade give warm, glare-free light.",
            "The in-line switch is easy to reach from the sofa or bed.",
            "It comes with an {bulb} bulb, so it works out of the box.",
        ),
        uses=("bedside tables", "reading corners", "home offices"),
    ),
    Leaf(
        path="Outdoor > Camping > Tents",
        code="OCT",
        noun="tent",
        price_range=(45, 699),
        brands=_b("Ridgeline:premium", "Fjellmark:premium", "CampEasy:budget", "Trailcraft:mid"),
        lines=("Summit", "Basecamp", "Ultralight", "Dome", "Tunnel"),
        attributes={
            "sleeps": ("1 person", "2 person", "3 person", "4 person", "6 person"),
            "season": ("3-season", "4-season"),
            "weight": ("1.1 kg", "1.8 kg", "2.6 kg", "4.9 kg", "8.2 kg"),
            "waterproof_rating": ("2000 mm", "3000 mm", "5000 mm"),
            "color": ("forest green", "orange", "sand", "grey", "olive"),
        },
        title_attrs=("sleeps", "season"),
        tags=("camping", "tent", "outdoor", "festival", "hiking"),
        benefits=(
            "A {waterproof_rating} flysheet and taped seams keep the rain out.",
            "Colour-coded poles mean it pitches in minutes, even in wind.",
            "At {weight} packed, it suits {season} trips.",
            "Two porches give room for boots and packs.",
        ),
        uses=("weekend camping", "festivals", "backpacking"),
    ),
    Leaf(
        path="Outdoor > Hiking > Backpacks",
        code="OHB",
        noun="hiking backpack",
        price_range=(25, 289),
        brands=_b("Ridgeline:premium", "Fjellmark:premium", "CampEasy:budget", "Trailcraft:mid"),
        lines=("Trek", "Alpine", "Daypack", "Ascent", "Roam"),
        attributes={
            "volume": ("20 L", "28 L", "35 L", "45 L", "65 L"),
            "material": ("recycled ripstop nylon", "waxed canvas", "Cordura nylon"),
            "color": ("black", "forest green", "navy", "orange", "olive"),
            "rain_cover": ("included", "not included"),
        },
        title_attrs=("volume",),
        tags=("hiking", "backpack", "outdoor", "travel"),
        benefits=(
            "{volume} of space with a ventilated back panel for long days on the trail.",
            "Hip-belt pockets keep snacks and a phone in reach.",
            "{material} shrugs off scrapes and light showers.",
        ),
        uses=("day hikes", "hut-to-hut treks", "travel"),
    ),
    Leaf(
        path="Apparel > Men > T-Shirts",
        code="AMT",
        noun="t-shirt",
        price_range=(9, 65),
        brands=_b("Northline:mid", "Basics Co.:budget", "Atelier Noor:premium", "Kestrel:mid"),
        lines=("Essential", "Heavyweight", "Pocket", "Slub", "Merino"),
        attributes={
            "size": ("S", "M", "L", "XL", "XXL"),
            "material": ("organic cotton", "merino wool", "cotton-linen blend", "recycled cotton"),
            "fit": ("regular fit", "relaxed fit", "slim fit"),
            "color": ("white", "black", "navy", "olive", "grey", "sand", "terracotta"),
        },
        title_attrs=("material",),
        tags=("t-shirt", "menswear", "basics", "cotton"),
        benefits=(
            "Cut from {material} in a {fit} that keeps its shape wash after wash.",
            "A ribbed crew neck and taped shoulders add structure.",
            "Soft enough to wear alone, neat enough under a jacket.",
        ),
        uses=("everyday wear", "layering", "warm weekends"),
        care=("Wash at 30 °C inside out.",),
    ),
    Leaf(
        path="Apparel > Women > Rain Jackets",
        code="AWR",
        noun="rain jacket",
        price_range=(35, 320),
        brands=_b("Northline:mid", "Fjellmark:premium", "Drizzle:budget", "Atelier Noor:premium"),
        lines=("Storm", "City", "Packable", "Trench", "Coastal"),
        attributes={
            "size": ("XS", "S", "M", "L", "XL"),
            "material": ("3-layer recycled polyester", "waxed cotton", "2.5-layer nylon"),
            "waterproof_rating": ("10,000 mm", "15,000 mm", "20,000 mm"),
            "color": ("navy", "mustard", "black", "forest green", "blush pink", "red"),
        },
        title_attrs=("material",),
        tags=("rain jacket", "womenswear", "waterproof", "outerwear"),
        benefits=(
            "A {waterproof_rating} waterproof rating with sealed seams keeps showers out.",
            "Pit zips and a breathable {material} shell stop you overheating on the move.",
            "An adjustable hood follows your head when you turn.",
        ),
        uses=("city commutes", "coastal walks", "travel"),
    ),
    Leaf(
        path="Footwear > Running > Running Shoes",
        code="FRS",
        noun="running shoe",
        price_range=(39, 210),
        brands=_b("Stride Lab:premium", "Kestrel:mid", "Pacer:budget", "Ridgeline:premium"),
        lines=("Glide", "Tempo", "Trail", "Cloudstep", "Daily"),
        attributes={
            "size": ("EU 38", "EU 39", "EU 40", "EU 41", "EU 42", "EU 43", "EU 44", "EU 45"),
            "drop": ("4 mm", "8 mm", "10 mm"),
            "surface": ("road", "trail", "track"),
            "color": ("black", "white", "orange", "navy", "sky blue", "red"),
        },
        title_attrs=("surface",),
        tags=("running", "shoes", "sport", "footwear"),
        benefits=(
            "A responsive foam midsole with a {drop} drop for easy miles and tempo days.",
            "The breathable knit upper wraps the foot without pressure points.",
            "Grippy rubber outsole built for {surface} running.",
        ),
        uses=("daily training", "half-marathon plans", "beginners"),
    ),
    Leaf(
        path="Beauty > Skincare > Moisturisers",
        code="BSM",
        noun="moisturiser",
        price_range=(7, 95),
        brands=_b(
            "Dewlab:mid", "Botanica Verde:premium", "Plain Skin:budget", "Maison Lune:premium"
        ),
        lines=("Daily", "Barrier", "Night", "Gel", "Rich"),
        attributes={
            "volume": ("30 ml", "50 ml", "100 ml"),
            "skin_type": (
                "dry skin",
                "oily skin",
                "combination skin",
                "sensitive skin",
                "all skin types",
            ),
            "key_ingredient": (
                "hyaluronic acid",
                "niacinamide",
                "ceramides",
                "squalane",
                "oat extract",
            ),
            "fragrance": ("fragrance-free", "lightly scented"),
        },
        title_attrs=("key_ingredient", "volume"),
        tags=("skincare", "moisturiser", "vegan", "face"),
        benefits=(
            "Made with {key_ingredient} for {skin_type}, it hydrates without a greasy film.",
            "{fragrance} and tested on sensitive skin.",
            "Sinks in quickly, so make-up goes on straight after.",
        ),
        uses=("morning routines", "winter skin", "under make-up"),
    ),
    Leaf(
        path="Electronics > Audio > Headphones",
        code="EAH",
        noun="headphones",
        price_range=(19, 399),
        brands=_b("Sonora:premium", "Beatwise:budget", "Halcyon Audio:premium", "Voltik:mid"),
        lines=("Studio", "Travel", "Air", "Pulse", "Quiet"),
        attributes={
            "type": ("over-ear", "on-ear", "in-ear"),
            "battery_life": ("20 hours", "30 hours", "40 hours", "60 hours"),
            "noise_cancelling": ("active", "passive"),
            "connectivity": ("Bluetooth 5.3", "Bluetooth 5.3 and 3.5 mm jack", "USB-C"),
            "color": ("black", "white", "navy", "sand", "silver"),
        },
        title_attrs=("type", "noise_cancelling"),
        tags=("audio", "headphones", "wireless", "travel"),
        benefits=(
            "{battery_life} of playback on a charge, with {noise_cancelling} noise cancelling.",
            "Soft memory-foam cushions for long listening sessions.",
            "Pairs over {connectivity} with two devices at once.",
        ),
        uses=("commuting", "working from home", "flights"),
    ),
    Leaf(
        path="Electronics > Accessories > Phone Cases",
        code="EAP",
        noun="phone case",
        price_range=(6, 59),
        brands=_b("Voltik:mid", "Shellguard:budget", "Atelier Noor:premium", "Beatwise:budget"),
        lines=("Slim", "Rugged", "Clear", "Folio", "MagSafe"),
        attributes={
            "model": ("iPhone 15", "iPhone 16", "Galaxy S24", "Pixel 9"),
            "material": ("silicone", "recycled TPU", "leather", "aramid fibre"),
            "color": ("black", "navy", "blush pink", "forest green", "sand", "red"),
        },
        title_attrs=("model", "material"),
        tags=("phone case", "accessories", "protection"),
        benefits=(
            "{material} with raised edges protects the screen and camera from drops.",
            "Precise cut-outs keep every button and port easy to use.",
            "Works with wireless charging.",
        ),
        uses=("everyday protection", "gifts"),
    ),
    Leaf(
        path="Sports > Fitness > Yoga Mats",
        code="SFY",
        noun="yoga mat",
        price_range=(12, 140),
        brands=_b("Asana Works:premium", "FlexFit:budget", "Kestrel:mid", "Stride Lab:premium"),
        lines=("Studio", "Grip", "Travel", "Align", "Cork"),
        attributes={
            "thickness": ("1.5 mm", "4 mm", "6 mm", "8 mm"),
            "material": ("natural rubber", "cork", "TPE", "PVC-free foam"),
            "color": ("sage", "plum", "sky blue", "black", "terracotta", "sand"),
        },
        title_attrs=("thickness", "material"),
        tags=("yoga", "fitness", "mat", "pilates"),
        benefits=(
            "{material} grips in downward dog even when hands get warm.",
            "A {thickness} profile cushions knees without feeling unstable.",
            "Alignment lines help you place hands and feet.",
        ),
        uses=("home practice", "studio classes", "pilates"),
    ),
    Leaf(
        path="Garden > Tools > Pruning Shears",
        code="GTP",
        noun="pruning shears",
        price_range=(9, 85),
        brands=_b("Greenthumb:budget", "Hollis & Ash:premium", "Fieldcraft:mid", "Ironvale:mid"),
        lines=("Bypass", "Anvil", "Ratchet", "Compact", "Pro"),
        attributes={
            "cutting_capacity": ("15 mm", "20 mm", "25 mm"),
            "blade": ("bypass", "anvil"),
            "handle": ("aluminium", "ash wood", "fibreglass"),
            "color": ("red", "orange", "forest green", "black"),
        },
        title_attrs=("blade",),
        tags=("garden", "pruning", "tools", "secateurs"),
        benefits=(
            "{blade} blades cut stems up to {cutting_capacity} cleanly so plants heal fast.",
            "{handle} handles and a soft spring reduce hand fatigue.",
            "A safety catch you can flick with one thumb.",
        ),
        uses=("roses and shrubs", "allotments", "balcony gardens"),
    ),
    Leaf(
        path="Toys > Building > Construction Sets",
        code="TBC",
        noun="construction set",
        price_range=(12, 149),
        brands=_b("Brickwise:mid", "TinkerTown:budget", "Builda:budget", "Oak & Peg:premium"),
        lines=("Castle", "City", "Space", "Marble Run", "Robot"),
        attributes={
            "pieces": ("120 pieces", "250 pieces", "480 pieces", "900 pieces"),
            "age": ("4+", "6+", "8+", "12+"),
            "material": ("wood", "recycled plastic", "bio-based plastic"),
        },
        title_attrs=("pieces",),
        tags=("toys", "building", "STEM", "kids", "gift"),
        benefits=(
            "{pieces} that click together firmly and come apart without a fight.",
            "Picture instructions for three models, then free building.",
            "Recommended for ages {age}.",
        ),
        uses=("rainy afternoons", "birthday gifts", "family building"),
    ),
    Leaf(
        path="Pets > Dogs > Dog Beds",
        code="PDB",
        noun="dog bed",
        price_range=(18, 180),
        brands=_b("Pawsome:budget", "Hound & Home:premium", "Furbed:mid", "Nordvik Home:mid"),
        lines=("Donut", "Orthopaedic", "Bolster", "Cushion", "Den"),
        attributes={
            "size": ("S", "M", "L", "XL"),
            "material": ("faux sheepskin", "waterproof canvas", "memory foam", "cord velvet"),
            "color": ("grey", "sand", "navy", "cream", "olive"),
        },
        title_attrs=("material", "size"),
        tags=("dog", "pet bed", "pets"),
        benefits=(
            "{material} with raised sides gives dogs a place to curl up and lean.",
            "A non-slip base keeps it still on hard floors.",
            "The cover zips off and goes in the washing machine.",
        ),
        uses=("older dogs", "crates and corners", "puppies"),
    ),
    Leaf(
        path="Office > Stationery > Notebooks",
        code="OSN",
        noun="notebook",
        price_range=(4, 48),
        brands=_b(
            "Paperfold:mid", "Inkwell & Co.:premium", "Jotter:budget", "Atelier Noor:premium"
        ),
        lines=("Dot Grid", "Ruled", "Plain", "Planner", "Sketch"),
        attributes={
            "format": ("A6", "A5", "B5", "A4"),
            "pages": ("96 pages", "160 pages", "240 pages"),
            "paper": ("80 gsm", "100 gsm", "120 gsm"),
            "cover": ("hardcover", "softcover", "linen cover"),
            "color": ("black", "navy", "terracotta", "sage", "mustard"),
        },
        title_attrs=("format", "cover"),
        tags=("stationery", "notebook", "journal", "office"),
        benefits=(
            "{paper} paper takes fountain pen ink without bleeding through.",
            "{pages}, numbered, with an index and a ribbon marker.",
            "It lies flat, so writing near the spine is easy.",
        ),
        uses=("bullet journals", "meeting notes", "sketching"),
    ),
    Leaf(
        path="Kitchen > Coffee > Grinders",
        code="KCG",
        noun="coffee grinder",
        price_range=(19, 350),
        brands=_b("Brewhaus:mid", "Quickboil:budget", "Kirisaki:premium", "Aalto Home:premium"),
        lines=("Burr", "Hand", "Barista", "Compact", "Precision"),
        attributes={
            "burr": ("conical steel burrs", "flat steel burrs", "ceramic burrs"),
            "grind_settings": ("15 settings", "30 settings", "40 settings", "stepless"),
            "power": ("manual", "150 W", "250 W"),
            "color": ("black", "silver", "white", "natural"),
        },
        title_attrs=("burr",),
        tags=("coffee", "grinder", "espresso", "pour-over"),
        benefits=(
            "{burr} with {grind_settings}, from espresso-fine to cafetière-coarse.",
            "Grinds evenly, so the cup tastes sweet rather than bitter.",
            "Low retention means less stale coffee left in the chamber.",
        ),
        uses=("espresso at home", "pour-over mornings", "coffee lovers"),
    ),
)

LEAVES_BY_PATH = {leaf.path: leaf for leaf in TAXONOMY}
TOP_LEVEL_CATEGORIES = tuple(sorted({leaf.path.split(" > ")[0] for leaf in TAXONOMY}))
#: Every attribute name the taxonomy uses, sorted: the extra CSV columns.
ATTRIBUTE_NAMES = tuple(sorted({name for leaf in TAXONOMY for name in leaf.attributes}))


def top_level(category: str) -> str:
    """``"Kitchen > Cookware > Saucepans"`` -> ``"Kitchen"``."""
    return category.split(">")[0].strip()


def _round_price(value: float, currency: str) -> Decimal:
    """Shop-style price endings: .99 under 100, .00 or .95 above (rounded in the currency)."""
    amount = Decimal(str(value)) * CURRENCY_RATES[currency]
    whole = int(amount)
    if whole < 1:
        return Decimal("0.99")
    if whole < 100:
        return Decimal(whole) + Decimal("0.99") - (Decimal("0.50") if whole % 7 == 0 else 0)
    whole = int((amount / 5).quantize(Decimal("1"), rounding=ROUND_HALF_UP) * 5)
    return (Decimal(whole) - (Decimal("0.05") if whole % 10 == 0 else Decimal("0"))).quantize(
        Decimal("0.01")
    )


def _clip_words(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0].rstrip(" ,;:-|–")
    return cut[:limit]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _image_name(leaf: Leaf, color: str) -> str:
    return f"{leaf.code.lower()}-{(color or 'plain').replace(' ', '-')}.svg"


def _placeholder_svg(leaf: Leaf, color: str) -> str:
    fill = COLOR_HEX.get(color, "#5c6b73")
    initials = "".join(w[0] for w in leaf.path.split(" > ")[-1].split()[:2]).upper()
    return (
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 120 120'>"
        f"<rect width='120' height='120' fill='{fill}'/>"
        "<text x='60' y='70' font-family='sans-serif' font-size='30' text-anchor='middle' "
        f"fill='#ffffff'>{initials}</text></svg>"
    )


def placeholder_images() -> dict[str, str]:
    """Every placeholder image the catalog can name: file name -> SVG text.

    The app serves them at ``/demo/images/<name>`` (``DEFAULT_IMAGE_BASE``).
    """
    out = {}
    for leaf in TAXONOMY:
        for color in leaf.attributes.get("color", ("",)):
            out[_image_name(leaf, color)] = _placeholder_svg(leaf, color)
    return out


_UNITS = {"cm", "mm", "ml", "kg", "gsm", "pieces", "pages", "hours", "settings"}


def _title_case_attr(value: str) -> str:
    # "stainless steel" -> "Stainless Steel"; keep units like "20 cm" and "EU 42" as they are
    return " ".join(
        w if any(c.isdigit() for c in w) or w.isupper() or w in _UNITS else w.capitalize()
        for w in value.split()
    )


def make_product(
    index: int, *, seed: int = 42, currency: str = "EUR", images: str = DEFAULT_IMAGE_BASE
) -> dict[str, Any]:
    """Product number ``index`` of the catalog for ``seed``; same result whatever the catalog size.

    ``images``: an http(s) base URL for the placeholder files (default ``DEFAULT_IMAGE_BASE``),
    ``"data"`` (an SVG ``data:`` URI) or ``"none"`` (empty field).
    """
    if currency not in CURRENCY_RATES:
        raise ValueError(f"unsupported currency {currency!r}; use one of {sorted(CURRENCY_RATES)}")
    rng = random.Random(f"{seed}:{index}")
    leaf = TAXONOMY[index % len(TAXONOMY)]
    brand = rng.choice(leaf.brands)
    line = rng.choice(leaf.lines)
    attrs = {name: rng.choice(values) for name, values in leaf.attributes.items()}

    # Price: the brand tier picks a band in the category range, log-scaled (prices are skewed).
    lo, hi = leaf.price_range
    band_lo, band_hi = TIER_POSITION[brand.tier]
    position = rng.uniform(band_lo, band_hi)
    base = lo * (hi / lo) ** position
    price = _round_price(base, currency)

    descriptor = " ".join(_title_case_attr(attrs[a]) for a in leaf.title_attrs)
    noun_title = _title_case_attr(leaf.noun)
    title = f"{brand.name} {line} {descriptor} {noun_title}".replace("  ", " ")
    if "color" in attrs and rng.random() < 0.5:
        title = f"{title}, {_title_case_attr(attrs['color'])}"

    sku = f"{leaf.code}-{index:06d}"
    roll = rng.random()
    stock = (
        0
        if roll < 0.05
        else int(rng.paretovariate(1.3) * 6)
        if roll < 0.95
        else rng.randint(300, 900)
    )
    status = "archived" if rng.random() < 0.04 else "active"

    tags = sorted(set(rng.sample(leaf.tags, k=min(len(leaf.tags), rng.randint(2, 4)))))
    if brand.tier == "premium":
        tags.append("premium")
    elif brand.tier == "budget":
        tags.append("value")

    fmt = {k: v for k, v in attrs.items()}
    thinness = rng.random()
    if thinness < 0.1:
        # Deliberately thin: nothing but the title.
        description, seo_title, seo_description = "", "", ""
    elif thinness < 0.2:
        # Deliberately thin: a bare spec line as a supplier feed would send it.
        spec = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(attrs.items())[:3])
        description, seo_title, seo_description = f"{noun_title}. {spec}.", "", ""
    else:
        benefits = rng.sample(leaf.benefits, k=min(len(leaf.benefits), rng.randint(2, 3)))
        sentences = [_cap(s.format(**fmt)) for s in benefits]
        opener = rng.choice(
            (
                f"The {line} {leaf.noun} from {brand.name} is made for {rng.choice(leaf.uses)}.",
                f"{brand.name}'s {line} {leaf.noun}: a dependable choice for {rng.choice(leaf.uses)}.",
                f"Meet the {brand.name} {line}, a {leaf.noun} designed for {rng.choice(leaf.uses)}.",
            )
        )
        parts = [opener, *sentences]
        if leaf.care and rng.random() < 0.6:
            parts.append(rng.choice(leaf.care))
        description = " ".join(parts)
        shelf = leaf.path.split(" > ")[-1]
        seo_title = f"{title} | {shelf}"
        seo_title = (
            seo_title if len(seo_title) <= SEO_TITLE_MAX else _clip_words(title, SEO_TITLE_MAX)
        )
        seo_description = _clip_words(f"{opener} {sentences[0]}", SEO_DESCRIPTION_MAX - 1)
        if not seo_description.endswith("."):
            seo_description += "."

    color = attrs.get("color", "")
    if images == "none":
        image_url = ""
    elif images == "data":
        image_url = "data:image/svg+xml," + quote(_placeholder_svg(leaf, color), safe="/:=' ")
    else:
        image_url = f"{images.rstrip('/')}/{_image_name(leaf, color)}"

    return {
        "sku": sku,
        "title": title,
        "brand": brand.name,
        "category": leaf.path,
        "price": price,
        "currency": currency,
        "stock": stock,
        "status": status,
        "tags": tags,
        "image_url": image_url,
        "attributes": attrs,
        "description": description,
        "seo_title": seo_title,
        "seo_description": seo_description,
    }


def iter_catalog(
    n: int = 360, *, seed: int = 42, currency: str = "EUR", images: str = DEFAULT_IMAGE_BASE
) -> Iterator[dict]:
    """Yield ``n`` products lazily (for 50,000-row benchmark files)."""
    for index in range(n):
        yield make_product(index, seed=seed, currency=currency, images=images)


def generate_catalog(
    n: int = 360, *, seed: int = 42, currency: str = "EUR", images: str = DEFAULT_IMAGE_BASE
) -> list[dict]:
    """The demo catalog: ``n`` products (default 360: 18 per leaf category, 20 leaves, 12 top levels)."""
    return list(iter_catalog(n, seed=seed, currency=currency, images=images))


def product_csv_row(product: dict) -> dict[str, str]:
    """One product as a CSV row of the import format (attributes spread into their own columns)."""
    row = {
        "sku": product["sku"],
        "title": product["title"],
        "brand": product["brand"],
        "category": product["category"],
        "price": str(product["price"]),
        "currency": product["currency"],
        "stock": str(product["stock"]),
        "status": product["status"],
        "tags": TAG_SEPARATOR.join(product["tags"]),
        "image_url": product["image_url"],
        "description": product["description"],
        "seo_title": product["seo_title"],
        "seo_description": product["seo_description"],
    }
    for name, value in product["attributes"].items():
        row[name] = value
    return row


def write_catalog_csv(
    target: str | Path | IO[str],
    *,
    n: int = 360,
    seed: int = 42,
    currency: str = "EUR",
    images: str = DEFAULT_IMAGE_BASE,
    products: list[dict] | None = None,
) -> int:
    """Write a catalog as CSV in the import format; return the number of rows written.

    Columns: ``CSV_BASE_COLUMNS`` then one per name in ``ATTRIBUTE_NAMES`` (empty where a
    product lacks that attribute). Streams, so ``n=50_000`` stays small in memory.
    Pass ``products`` to write a given list instead of generating one.
    """
    source = (
        products
        if products is not None
        else iter_catalog(n, seed=seed, currency=currency, images=images)
    )
    extra = list(ATTRIBUTE_NAMES)
    if products is not None:
        extra = sorted({name for p in products for name in p["attributes"]})
    if isinstance(target, str | Path):
        with open(target, "w", encoding="utf-8", newline="") as fh:
            return _write_rows(fh, source, extra)
    return _write_rows(target, source, extra)


def _write_rows(fh: IO[str], products, extra: list[str]) -> int:
    writer = csv.DictWriter(fh, fieldnames=[*CSV_BASE_COLUMNS, *extra], restval="")
    writer.writeheader()
    count = 0
    for product in products:
        writer.writerow(product_csv_row(product))
        count += 1
    return count


def catalog_csv_text(
    n: int = 360, *, seed: int = 42, currency: str = "EUR", images: str = DEFAULT_IMAGE_BASE
) -> str:
    """The CSV as a string (handy for upload tests)."""
    buf = io.StringIO()
    write_catalog_csv(buf, n=n, seed=seed, currency=currency, images=images)
    return buf.getvalue()

"""The shop's side: stores, products, stock snapshots and the stock-outs that feed back-in-stock journeys.

The catalog is small (25 stores, at most 2,000 products) so it is built with
plain Python over products; only the inventory snapshots, which grow with
products x locations x days, are vectorized.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from orchestration.generator.geography import FX_FROM_GBP, STORES
from orchestration.generator.sampling import DAY, HOUR, BlockSampler, Context, expand, labels, timestamps
from orchestration.generator.writer import insert


@dataclass(frozen=True)
class Category:
    name: str
    share: float  # of the product range
    complement: str  # what people who like this also buy (cross-sell)
    price_gbp: tuple[float, float]  # typical range
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    brands: tuple[str, ...]
    variants: tuple[str, ...]


_COLOURS = ("Black", "Navy", "Oat", "Olive", "White", "Grey Marl", "Rust", "Sage", "Charcoal", "Sky Blue")
CATEGORIES: tuple[Category, ...] = (
    Category("apparel", 20, "footwear", (12, 110),
             ("Crew T-Shirt", "Oxford Shirt", "Chino Trousers", "Denim Jacket", "Merino Jumper", "Hoodie",
              "Midi Dress", "Puffer Jacket", "Linen Shirt", "Joggers", "Cardigan", "Rain Mac"),
             ("Organic Cotton", "Slim Fit", "Relaxed", "Classic", "Recycled", "Heritage", "Essential",
              "Lightweight"),
             ("Northbound", "Haverford", "Marlow & Finch", "Common Thread", "Ardent"), _COLOURS),
    Category("footwear", 10, "accessories", (35, 160),
             ("Chelsea Boot", "Canvas Trainer", "Running Shoe", "Suede Loafer", "Hiking Boot", "Slide Sandal",
              "Court Trainer", "Derby Shoe"),
             ("Leather", "Waterproof", "Vegan", "Classic", "Lightweight", "Cushioned"),
             ("Stride Co", "Fellwalker", "Haverford", "Ardent"), _COLOURS[:6]),
    Category("accessories", 10, "apparel", (8, 90),
             ("Belt", "Scarf", "Beanie", "Tote Bag", "Crossbody Bag", "Sunglasses", "Wallet", "Baseball Cap",
              "Gloves"),
             ("Leather", "Wool", "Canvas", "Recycled", "Classic", "Cashmere Blend"),
             ("Marlow & Finch", "Northbound", "Kettle & Crane"), _COLOURS),
    Category("beauty", 12, "home", (5, 70),
             ("Face Serum 30ml", "Moisturiser 50ml", "Hand Cream 75ml", "Lip Balm", "Body Wash 250ml",
              "Eau de Parfum 50ml", "Clay Mask", "SPF 50 Sun Cream", "Shampoo 300ml"),
             ("Hydrating", "Vitamin C", "Calming", "Fragrance-Free", "Rose", "Sea Salt", "Overnight"),
             ("Lumen & Co", "Fieldwell", "Aster Botanics", "Salt & Fern"), ("",)),
    Category("home", 12, "kitchen", (8, 120),
             ("Duvet Cover", "Bath Towel", "Scented Candle", "Ceramic Vase", "Throw Blanket", "Cushion Cover",
              "Table Lamp", "Picture Frame", "Doormat"),
             ("Linen", "Cotton", "Stoneware", "Knitted", "Rattan", "Minimal", "Soft-Touch"),
             ("Hearth & Hollow", "Linden House", "Kettle & Crane"), _COLOURS[:7]),
    Category("kitchen", 10, "grocery", (6, 150),
             ("Cast Iron Skillet", "Chef's Knife", "Mug", "French Press", "Frying Pan", "Storage Jars (Set of 3)",
              "Chopping Board", "Espresso Cups (Set of 4)", "Mixing Bowl"),
             ("Enamelled", "Stoneware", "Non-Stick", "Glass", "Oak", "Professional"),
             ("Kettle & Crane", "Copperfield", "Hearth & Hollow"), ("", "Black", "Cream", "Sage")),
    Category("electronics", 8, "accessories", (12, 250),
             ("Wireless Earbuds", "Bluetooth Speaker", "USB-C Charger 65W", "Smart Plug", "Phone Case",
              "Power Bank 10000mAh", "Fitness Tracker", "Over-Ear Headphones"),
             ("Noise-Cancelling", "Compact", "Rugged", "Pro", "Mini", "Fast-Charge"),
             ("Voltline", "Auralis", "Nimbus Tech"), ("", "Black", "White", "Blue")),
    Category("toys", 6, "outdoor", (6, 60),
             ("Building Blocks", "Plush Bear", "Puzzle 1000 Pieces", "Remote Control Car", "Craft Kit",
              "Board Game", "Kite"),
             ("Wooden", "Classic", "Deluxe", "Junior", "Eco"),
             ("Little Oak", "Playwright"), ("",)),
    Category("outdoor", 6, "footwear", (10, 180),
             ("Insulated Water Bottle", "Camping Chair", "Daypack 25L", "Waterproof Jacket", "Trekking Poles",
              "Picnic Blanket", "Head Torch"),
             ("Packable", "Recycled", "Ultralight", "Trail", "All-Weather"),
             ("Fellwalker", "Northbound", "Summit & Stream"), _COLOURS[:5]),
    Category("grocery", 6, "kitchen", (2, 16),
             ("Coffee Beans 250g", "Dark Chocolate 100g", "Loose Leaf Tea", "Olive Oil 500ml", "Granola 500g",
              "Sea Salt Crisps", "Honey 340g"),
             ("Single Origin", "Organic", "Fairtrade", "Small Batch", "Smoky", "Wildflower"),
             ("Copperfield Pantry", "Salt & Fern"), ("",)),
)  # fmt: skip
CATEGORY_INDEX = {c.name: i for i, c in enumerate(CATEGORIES)}
COMPLEMENT = np.array([CATEGORY_INDEX[c.complement] for c in CATEGORIES], dtype=np.int8)
CATEGORY_SHARES = np.array([c.share for c in CATEGORIES], dtype=np.float64)

LOCATIONS = ("online", *(s.store_id for s in STORES))  # inventory location 0 is the web shop


def product_count(customers: int) -> int:
    """A few hundred products for a small shop, growing to 2,000 at a million customers."""
    return int(np.clip(round(2 * max(customers, 1) ** 0.55), 200, 2000))


@dataclass
class Catalog:
    product_ids: pa.StringArray
    names: list[str]
    brands: list[str]
    category: np.ndarray  # int8 index into CATEGORIES
    price_gbp: np.ndarray
    price_cents: np.ndarray  # (currency, product) int64: the shelf price in each currency
    active: np.ndarray  # bool
    updated_us: np.ndarray
    popularity: np.ndarray  # float, 0 for inactive products
    by_category: BlockSampler
    category_order: np.ndarray  # product indices sorted by category: the item order of by_category
    overall: BlockSampler
    episodes: dict[str, np.ndarray]  # stock-outs: product, location, out_us, back_us (-1: still out)

    @property
    def size(self) -> int:
        return len(self.category)

    def sample(self, rng: np.random.Generator, favorite: np.ndarray) -> np.ndarray:
        """One product per row: half from the person's favorite category, a fifth from its complement."""
        n = len(favorite)
        u = rng.random(n)
        block = np.where(u < 0.5, favorite, COMPLEMENT[favorite]).astype(np.int64)
        from_category = self.category_order[self.by_category.sample(rng, block)]
        anywhere = self.overall.sample(rng, np.zeros(n))
        return np.where(u < 0.7, from_category, anywhere)


def build_catalog(ctx: Context) -> Catalog:
    rng = ctx.streams.rng("catalog.products")
    n = product_count(ctx.customers)
    shares = CATEGORY_SHARES / CATEGORY_SHARES.sum()
    category = rng.choice(len(CATEGORIES), size=n, p=shares).astype(np.int8)
    lo = np.array([CATEGORIES[c].price_gbp[0] for c in category])
    hi = np.array([CATEGORIES[c].price_gbp[1] for c in category])
    base = np.exp(rng.uniform(np.log(lo), np.log(hi)))
    ending = rng.choice([0.99, 0.49, 0.0], size=n, p=[0.7, 0.15, 0.15])
    price_gbp = np.maximum(np.floor(base) + ending, 0.99)
    converted = np.floor(price_gbp[None, :] * FX_FROM_GBP[:, None]) + 0.99
    converted[0] = price_gbp
    price_cents = np.round(converted * 100).astype(np.int64)
    active = rng.random(n) >= 0.03
    updated_us = ctx.start_us + (rng.random(n) * (ctx.as_of_us - ctx.start_us)).astype(np.int64)

    names, brands = [], []
    text_rng = ctx.streams.rng("catalog.names")
    for c in category:  # per product, not per row: at most 2,000
        cat = CATEGORIES[c]
        noun = cat.nouns[text_rng.integers(len(cat.nouns))]
        adjective = cat.adjectives[text_rng.integers(len(cat.adjectives))]
        variant = cat.variants[text_rng.integers(len(cat.variants))]
        names.append(f"{adjective} {noun}" + (f", {variant}" if variant else ""))
        brands.append(cat.brands[text_rng.integers(len(cat.brands))])

    popularity = np.exp(rng.normal(0.0, 1.0, n)) * active
    episodes = _stock_episodes(ctx, popularity)
    popularity[np.unique(episodes["product"])] *= 3  # what sells out is what people want
    order = np.argsort(category, kind="stable")
    blocks = [popularity[order][category[order] == k] for k in range(len(CATEGORIES))]
    return Catalog(
        product_ids=pa.array([f"P{i + 1:05d}" for i in range(n)], type=pa.string()),
        names=names,
        brands=brands,
        category=category,
        price_gbp=price_gbp,
        price_cents=price_cents,
        active=active,
        updated_us=updated_us,
        popularity=popularity,
        by_category=BlockSampler(blocks),
        category_order=order,
        overall=BlockSampler([popularity]),
        episodes=episodes,
    )


def _stock_episodes(ctx: Context, popularity: np.ndarray) -> dict[str, np.ndarray]:
    """Intervals during which a product is out of stock at a location.

    Online, ~6% of active products sell out in the last two months: some are
    back in stock in the last few days (back-in-stock alerts should go), some
    are still out, some came back weeks ago; a third of those back go out again
    (the alert's exit condition). Some also sell out at one store.
    """
    rng = ctx.streams.rng("catalog.stock_episodes")
    live = np.flatnonzero(popularity > 0)
    n = min(len(live), max(6, round(0.06 * len(live))))
    chosen = np.sort(rng.choice(live, size=n, replace=False, p=popularity[live] / popularity[live].sum()))
    now = ctx.as_of_us
    kind = rng.choice(3, size=n, p=[0.45, 0.25, 0.30])  # back recently, still out, back earlier
    kind[: min(n, 3)] = np.arange(min(n, 3))  # every kind exists even in a tiny shop
    u = rng.random((4, n))
    back = np.where(kind == 0, now - (2 * HOUR + u[0] * 6 * DAY), -1).astype(np.int64)
    out = np.where(kind == 0, back - (2 * DAY + u[1] * 23 * DAY), 0).astype(np.int64)
    out = np.where(kind == 1, now - (DAY + u[1] * 29 * DAY), out).astype(np.int64)
    out = np.where(kind == 2, now - (25 * DAY + u[1] * 35 * DAY), out).astype(np.int64)
    back = np.where(kind == 2, out + (2 * DAY + u[0] * 18 * DAY), back).astype(np.int64)
    rows = {"product": [chosen], "location": [np.zeros(n, np.int64)], "out_us": [out], "back_us": [back]}
    # Out again: a third of those that came back (at least one when there are any).
    again_at = back + (6 * HOUR + u[2] * 5 * DAY).astype(np.int64)
    again = (back > 0) & (u[3] < 0.33) & (again_at < now - HOUR)
    if not again.any() and ((back > 0) & (again_at < now - HOUR)).any():
        again[np.flatnonzero((back > 0) & (again_at < now - HOUR))[0]] = True
    rows["product"].append(chosen[again])
    rows["location"].append(np.zeros(int(again.sum()), np.int64))
    rows["out_us"].append(again_at[again])
    rows["back_us"].append(np.full(int(again.sum()), -1, np.int64))
    # A store sells out of some of the same products at about the same time.
    at_store = rng.random(n) < 0.3
    k = int(at_store.sum())
    shift = (rng.uniform(-3, 3, k) * DAY).astype(np.int64)
    rows["product"].append(chosen[at_store])
    rows["location"].append(1 + rng.integers(0, len(STORES), k))
    rows["out_us"].append(np.minimum(out[at_store] + shift, now - HOUR))
    store_back = np.where(back[at_store] > 0, back[at_store] + shift, -1)
    rows["back_us"].append(np.where(store_back >= now, -1, store_back))
    return {key: np.concatenate(parts).astype(np.int64) for key, parts in rows.items()}


def write_stores(con: duckdb.DuckDBPyConnection) -> None:
    table = pa.table(
        {
            "store_id": [s.store_id for s in STORES],
            "name": [s.name for s in STORES],
            "city": [s.city for s in STORES],
            "country": [s.country for s in STORES],
            "timezone": [s.timezone for s in STORES],
        }
    )
    insert(con, "raw.stores", table, "select * from src")


def write_products(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    table = pa.table(
        {
            "product_id": catalog.product_ids,
            "name": catalog.names,
            "category": [CATEGORIES[c].name for c in catalog.category],
            "brand": catalog.brands,
            "price": catalog.price_gbp,
            "is_active": catalog.active,
            "updated_at": timestamps(catalog.updated_us),
        }
    )
    insert(con, "raw.products", table, "select * from src")


def write_inventory(ctx: Context, con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    """Stock snapshots: online every 3 days, stores every 14, for six months, plus one at each stock change.

    A product's quantity wanders around its usual level and is 0 inside its
    stock-out episodes; the row at the start and end of an episode is what a
    stock feed sends when the level crosses zero.
    """
    rng = ctx.streams.rng("catalog.inventory")
    products = np.flatnonzero(catalog.active)
    n_loc = len(LOCATIONS)
    carried = rng.random((n_loc, len(products))) < 0.6
    carried[0] = True  # the web shop lists everything active
    ep = catalog.episodes
    carried[ep["location"], np.searchsorted(products, ep["product"])] = True
    loc, prod = np.nonzero(carried)
    prod = products[prod]
    every = np.where(loc == 0, 3, 14)
    count = 180 // every
    pair, k = expand(count)
    base = np.where(
        loc == 0, np.exp(rng.normal(np.log(60), 0.6, len(loc))), np.exp(rng.normal(np.log(8), 0.5, len(loc)))
    )
    at = ctx.as_of_us - (k * every[pair]) * DAY - (rng.random(len(pair)) * 6 * HOUR).astype(np.int64)
    qty = np.maximum(1, np.round(base[pair] * rng.uniform(0.3, 1.3, len(pair)))).astype(np.int64)
    # The rows at each episode boundary, then zero every snapshot inside an episode.
    keys = loc * catalog.size + prod  # increasing: np.nonzero walks locations, then products
    ep_pair = np.searchsorted(keys, ep["location"] * catalog.size + ep["product"])
    has_back = ep["back_us"] > 0
    b_pair = np.concatenate([ep_pair, ep_pair[has_back]])
    b_at = np.concatenate([ep["out_us"], ep["back_us"][has_back]])
    b_qty = np.concatenate(
        [np.zeros(len(ep_pair), np.int64), np.maximum(2, np.round(base[ep_pair[has_back]])).astype(np.int64)]
    )
    pair = np.concatenate([pair, b_pair])
    at = np.concatenate([at, b_at])
    qty = np.concatenate([qty, b_qty])
    boundary = np.zeros(len(pair), dtype=bool)
    boundary[-len(b_pair) :] = True
    for p, out, back in zip(ep_pair, ep["out_us"], ep["back_us"], strict=True):  # a few hundred episodes
        end = back if back > 0 else np.iinfo(np.int64).max
        inside = (pair == p) & (at >= out) & (at < end) & ~boundary
        qty[inside] = 0
    table = pa.table(
        {
            "product_id": labels(catalog.product_ids, prod[pair]),
            "location_id": labels(LOCATIONS, loc[pair]),
            "quantity_on_hand": pa.array(qty, type=pa.int32()),
            "recorded_at": timestamps(at),
        }
    )
    insert(con, "raw.inventory", table, "select * from src")

"""A demo shop: a two-level category tree and N active products, loaded with COPY."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from ..platform.db import Executor
from .service import slugify

DEPARTMENTS: dict[str, list[tuple[str, list[str]]]] = {
    "Clothing": [
        ("Shirts", ["shirt", "blouse", "polo"]),
        ("Jackets", ["jacket", "parka", "coat"]),
        ("Trousers", ["trousers", "jeans", "chinos"]),
        ("Knitwear", ["sweater", "cardigan", "hoodie"]),
    ],
    "Shoes": [
        ("Sneakers", ["sneaker", "trainer"]),
        ("Boots", ["boot", "chelsea boot"]),
        ("Sandals", ["sandal", "slide"]),
        ("Formal shoes", ["oxford", "loafer", "derby"]),
    ],
    "Home": [
        ("Kitchen", ["mug", "teapot", "skillet", "knife"]),
        ("Bedding", ["duvet", "pillow", "blanket"]),
        ("Lighting", ["lamp", "pendant light", "lantern"]),
        ("Decor", ["vase", "mirror", "frame"]),
    ],
    "Electronics": [
        ("Audio", ["headphones", "speaker", "earbuds"]),
        ("Computers", ["laptop", "keyboard", "monitor"]),
        ("Phones", ["phone case", "charger", "power bank"]),
        ("Cameras", ["camera", "lens", "tripod"]),
    ],
    "Sports": [
        ("Running", ["running shoe", "running vest"]),
        ("Cycling", ["helmet", "bike light", "jersey"]),
        ("Yoga", ["yoga mat", "yoga block"]),
        ("Camping", ["tent", "sleeping bag", "backpack"]),
    ],
    "Beauty": [
        ("Skincare", ["moisturiser", "serum", "cleanser"]),
        ("Fragrance", ["perfume", "cologne"]),
        ("Hair", ["shampoo", "conditioner", "hair oil"]),
        ("Bath", ["soap", "bath salts"]),
    ],
    "Toys": [
        ("Puzzles", ["puzzle", "brain teaser"]),
        ("Building", ["building set", "block set"]),
        ("Outdoor toys", ["kite", "frisbee", "water pistol"]),
        ("Plush", ["teddy bear", "plush fox"]),
    ],
    "Books": [
        ("Fiction", ["novel", "short stories"]),
        ("Cookbooks", ["cookbook", "baking book"]),
        ("Travel", ["travel guide", "atlas"]),
        ("Children's books", ["picture book", "board book"]),
    ],
    "Garden": [
        ("Tools", ["trowel", "pruner", "rake"]),
        ("Planters", ["planter", "window box"]),
        ("Furniture", ["bench", "hammock", "parasol"]),
        ("Seeds", ["seed kit", "herb kit"]),
    ],
    "Grocery": [
        ("Coffee", ["coffee beans", "espresso"]),
        ("Tea", ["green tea", "black tea", "herbal tea"]),
        ("Snacks", ["granola", "chocolate bar", "trail mix"]),
        ("Pantry", ["olive oil", "pasta", "honey"]),
    ],
}
ADJECTIVES = [
    "classic",
    "modern",
    "vintage",
    "lightweight",
    "rugged",
    "compact",
    "premium",
    "everyday",
    "organic",
    "handmade",
    "slim",
    "cosy",
    "bold",
    "minimal",
    "waterproof",
    "recycled",
    "deluxe",
    "essential",
    "heritage",
    "urban",
    "alpine",
    "coastal",
    "nordic",
    "studio",
]
MATERIALS = [
    "cotton",
    "linen",
    "wool",
    "leather",
    "bamboo",
    "oak",
    "walnut",
    "steel",
    "ceramic",
    "glass",
    "canvas",
    "merino",
    "cashmere",
    "denim",
    "copper",
    "stoneware",
    "silk",
    "hemp",
]
COLOURS = ["black", "white", "navy", "olive", "sand", "rust", "grey", "forest", "sky", "plum"]
SIZES = ["XS", "S", "M", "L", "XL"]
PHRASES = [
    "Made to last and easy to care for.",
    "A favourite of our customers for years.",
    "Designed in small batches with attention to detail.",
    "Perfect as a gift.",
    "Pairs well with the rest of the collection.",
    "Responsibly sourced materials.",
    "Ships in plastic-free packaging.",
    "Backed by our two-year guarantee.",
]


def _json(value: dict[str, str]) -> str:
    return orjson.dumps(value).decode()  # COPY sends jsonb as text


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _categories(rng: random.Random) -> tuple[list[tuple[Any, ...]], list[tuple[uuid.UUID, list[str]]]]:
    rows: list[tuple[Any, ...]] = []
    leaves = []
    for i, (dept, children) in enumerate(DEPARTMENTS.items()):
        dept_id = _uuid(rng)
        rows.append((dept_id, None, slugify(dept), dept, i))
        for j, (name, nouns) in enumerate(children):
            child_id = _uuid(rng)
            rows.append((child_id, dept_id, slugify(name), name, j))
            leaves.append((child_id, nouns))
    return rows, leaves


def _product(
    rng: random.Random, n: int, leaves: list[tuple[uuid.UUID, list[str]]], now: datetime, currency: str
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    category_id, nouns = leaves[n % len(leaves)]
    adjective, material, noun = rng.choice(ADJECTIVES), rng.choice(MATERIALS), rng.choice(nouns)
    name = f"{adjective.title()} {material} {noun}"
    description = f"A {adjective} {noun} in {material}. " + " ".join(rng.sample(PHRASES, 2))
    product_id = _uuid(rng)
    base = rng.randrange(500, 50_000, 100) - 1  # prices end in 99
    variants, stock = [], []
    options = (
        rng.sample(SIZES, rng.randint(1, 5)) if rng.random() < 0.5 else rng.sample(COLOURS, rng.randint(1, 5))
    )
    axis = "size" if options[0] in SIZES else "colour"
    for k, value in enumerate(options):
        sku = f"SF{n:07d}-{k}"
        price = base + k * 500 if axis == "size" else base
        variants.append((_uuid(rng), product_id, sku, value, _json({axis: value}), price, currency, k))
        stock.append((sku, rng.choice([0, 3, 10, 25, 100]) if rng.random() < 0.9 else 0))
    prices = [v[5] for v in variants]
    created = now - timedelta(seconds=rng.randrange(0, 365 * 86400))
    product = (
        product_id,
        f"{slugify(name)}-{n}",
        name,
        description,
        category_id,
        _json({"material": material, "style": adjective}),
        "active",
        currency,
        min(prices),
        max(prices),
        created,
        created,
    )
    return product, variants, stock


async def seed(conn: asyncpg.Connection, products: int, *, currency: str = "USD", seed: int = 1) -> int:
    """Load the demo shop into an empty catalog in one transaction; the products loaded."""
    rng = random.Random(seed)
    category_rows, leaves = _categories(rng)
    now = datetime.now(UTC)
    product_rows, variant_rows, stock_rows = [], [], []
    for n in range(products):
        p, vs, ss = _product(rng, n, leaves, now, currency)
        product_rows.append(p)
        variant_rows += vs
        stock_rows += ss
    async with conn.transaction():
        await conn.copy_records_to_table(
            "categories", records=category_rows, columns=["id", "parent_id", "slug", "name", "position"]
        )
        await conn.copy_records_to_table(
            "products",
            records=product_rows,
            columns=[
                "id",
                "slug",
                "name",
                "description",
                "category_id",
                "attributes",
                "status",
                "currency",
                "price_min",
                "price_max",
                "created_at",
                "updated_at",
            ],
        )
        await conn.copy_records_to_table(
            "variants",
            records=variant_rows,
            columns=["id", "product_id", "sku", "name", "options", "price_amount", "currency", "position"],
        )
        await conn.copy_records_to_table("stock", records=stock_rows, columns=["sku", "on_hand"])
    await conn.execute("ANALYZE categories, products, variants, stock")
    return products


async def is_empty(conn: asyncpg.Connection) -> bool:
    return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM products)")


async def reset(conn: asyncpg.Connection) -> None:
    """Empty the catalog, and whatever points into it (carts, orders and theirs)."""
    await conn.execute("TRUNCATE stock, variants, products, categories, carts, orders CASCADE")


async def leaf_categories(conn: Executor) -> list[asyncpg.Record]:
    """The categories products are in (id, name), in the tree's order."""
    return await conn.fetch(
        "SELECT c.id, c.name FROM categories c WHERE NOT EXISTS"
        " (SELECT 1 FROM categories k WHERE k.parent_id = c.id) ORDER BY c.parent_id, c.position"
    )


async def show_pictures(conn: Executor, by_category: dict[uuid.UUID, uuid.UUID]) -> int:
    """Give every product without images its category's picture; how many got one."""
    result = await conn.execute(
        "INSERT INTO product_images (product_id, media_id, alt, position)"
        " SELECT p.id, m.media_id, p.name, 0 FROM products p"
        " JOIN unnest($1::uuid[], $2::uuid[]) AS m (category_id, media_id) ON m.category_id = p.category_id"
        " WHERE NOT EXISTS (SELECT 1 FROM product_images i WHERE i.product_id = p.id)",
        list(by_category),
        list(by_category.values()),
    )
    return int(result.split()[-1])

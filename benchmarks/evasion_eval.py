"""Recall per evasion and false matches of the PDQ pipeline on real photographs (issue 18).

Photos: the real photographs shipped in installable packages (``_photos.py``: scikit-image,
scikit-learn, matplotlib, PyWavelets, mahotas, pygame, ultralytics, imgaug), never
generated shapes. Every 3rd photo (sorted by name) is a **tuning** photo (used while
choosing the trim tolerance, caption rule and bank-side crops); the others are the
**report** set, whose figures are printed.

Bank: every photo's bank-side hashes (its PDQ, the centre crops and the variants of
``pdq_variants.bank_hashes``) plus ``--random`` other random hashes, in one faiss flat
index at threshold 31. Queries go through ``pdq_variants.query_hashes`` (what an upload
is matched by), encoded and decoded as an upload would be.

Recall: each report photo under each transformation, with random parameters drawn per
photo. False matches: a query "falsely matches" when it hits a random hash or an entry of
another photo (leave-one-out: the query's own photo is ignored, so each query is an
unbanked image against a bank of the others). Unbanked images: every photo, its
non-overlapping tiles (a 4x4 grid: distinct content) and each with a flip, a border and a
caption bar, and the frames of the shared sample videos (one a second).

    PYTHONPATH=src python benchmarks/evasion_eval.py --random 100000
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

from tidings.moderation import pdq_variants as pv
from tidings.moderation.limits import PDQ_DEFAULT_THRESHOLD, PDQ_MIN_QUALITY
from tidings.moderation.media_signals import pdq
from tidings.moderation.signal_types import pdq_augmented

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _photos import real_photos
from _report import command, result

THRESHOLD = PDQ_DEFAULT_THRESHOLD
WORDS = ("when the", "nobody", "me trying", "to explain", "my code", "at 3am", "finally",
         "weekend", "this is fine", "expectation", "reality", "monday again")
Transform = Callable[[Image.Image, random.Random], Image.Image]


def jpeg(img: Image.Image, quality: int = 85) -> Image.Image:
    out = io.BytesIO()
    img.convert("RGB").save(out, format="JPEG", quality=quality)
    out.seek(0)
    with Image.open(out) as back:
        return back.convert("RGB")


def noisy(size: tuple[int, int], colour: tuple[int, int, int], rng: random.Random
          ) -> Image.Image:
    sigma = rng.uniform(0, 6)
    base = np.full((size[1], size[0], 3), colour, dtype=np.float32)
    base += np.random.default_rng(rng.randrange(1 << 30)).normal(0, sigma, base.shape)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def rand_colour(rng: random.Random) -> tuple[int, int, int]:
    return rng.choice([(0, 0, 0), (255, 255, 255),
                       (rng.randrange(256), rng.randrange(256), rng.randrange(256))])


def border(img: Image.Image, rng: random.Random) -> Image.Image:
    w, h = img.size
    d = round(max(w, h) * 0.05)
    canvas = noisy((w + 2 * d, h + 2 * d), rand_colour(rng), rng)
    canvas.paste(img, (d, d))
    return canvas


def letterbox(img: Image.Image, rng: random.Random) -> Image.Image:
    w, h = img.size
    size = (round(h * 16 / 9), h) if w / h < 16 / 9 else (w, round(w * 9 / 16))
    canvas = noisy(size, (rng.randrange(0, 20),) * 3, rng)  # type: ignore[arg-type]
    canvas.paste(img, ((size[0] - w) // 2, (size[1] - h) // 2))
    return canvas


def canvas(img: Image.Image, rng: random.Random) -> Image.Image:
    w, h = img.size
    cw, ch = round(w / 0.8), round(h / 0.8)
    out = noisy((cw, ch), rand_colour(rng), rng)
    out.paste(img, (rng.randrange(cw - w + 1), rng.randrange(ch - h + 1)))
    return out


def caption(img: Image.Image, rng: random.Random) -> Image.Image:
    w, h = img.size
    share = rng.uniform(0.08, 0.25)
    bar = round(h * share / (1 - share))
    colour, ink = rng.choice([((255, 255, 255), (0, 0, 0)), ((0, 0, 0), (255, 255, 255))])
    out = Image.new("RGB", (w, h + bar), colour)
    top = rng.random() < 0.5
    out.paste(img, (0, bar if top else 0))
    draw = ImageDraw.Draw(out)
    size = max(8, int(bar * 0.45))
    font = ImageFont.load_default(size)
    text = " ".join(rng.sample(WORDS, 2)).upper()
    y = (bar - size) // 2 + (0 if top else h)
    draw.text((rng.randrange(max(1, w // 8)), y), text, fill=ink, font=font)
    return out


def overlay(img: Image.Image, rng: random.Random) -> Image.Image:
    out = img.copy()
    w, h = img.size
    bw, bh = round(w * 0.1), round(h * 0.1)
    x, y = rng.randrange(w - bw), rng.randrange(h - bh)
    ImageDraw.Draw(out).rectangle((x, y, x + bw, y + bh), fill=rand_colour(rng))
    return out


def logo(img: Image.Image, rng: random.Random) -> Image.Image:
    """A channel's watermark: a box 12 % of the width with its name, in a corner."""
    out = img.copy()
    w, h = img.size
    bw, bh = round(w * 0.12), round(w * 0.04)
    x = rng.choice([4, w - bw - 4])
    y = rng.choice([4, h - bh - 4])
    draw = ImageDraw.Draw(out)
    draw.rectangle((x, y, x + bw, y + bh), fill=rand_colour(rng))
    draw.text((x + 2, y + 1), "@chan", fill=(255, 255, 0), font=ImageFont.load_default(bh - 2))
    return out


def centre_crop(frac: float) -> Transform:
    def go(img: Image.Image, rng: random.Random) -> Image.Image:
        w, h = img.size
        dx, dy = round(w * frac / 2), round(h * frac / 2)
        return img.crop((dx, dy, w - dx, h - dy))
    return go


def centre_crop_between(low: float, high: float) -> Transform:
    """A centre crop removing a random share in [low, high] of each dimension: not one
    of the fractions the bank side crops at (textures survive only those)."""
    def go(img: Image.Image, rng: random.Random) -> Image.Image:
        return centre_crop(rng.uniform(low, high))(img, rng)
    return go


def side_crop(frac: float) -> Transform:
    def go(img: Image.Image, rng: random.Random) -> Image.Image:
        w, h = img.size
        dx = round(w * frac)
        return img.crop((dx, 0, w, h)) if rng.random() < 0.5 else img.crop((0, 0, w - dx, h))
    return go


def resize(frac: float) -> Transform:
    def go(img: Image.Image, rng: random.Random) -> Image.Image:
        w, h = img.size
        return img.resize((max(1, round(w * frac)), max(1, round(h * frac))),
                          Image.Resampling.LANCZOS)
    return go


def alpha_hidden(img: Image.Image, rng: random.Random) -> Image.Image:
    """The picture carried only in the alpha channel (white pixels, alpha = luma)."""
    grey = img.convert("L")
    out = Image.new("RGBA", img.size, (255, 255, 255, 0))
    out.putalpha(grey)
    return out


TRANSFORMS: dict[str, tuple[Transform, float]] = {
    # name: (transformation, target recall)
    "reencode_q30_90": (lambda i, r: jpeg(i, r.randrange(30, 91)), 0.99),
    "resize_50": (resize(0.5), 0.99),
    "resize_25": (resize(0.25), 0.99),
    "centre_crop_3": (centre_crop(0.03), 0.99),
    "centre_crop_5": (centre_crop(0.05), 0.99),
    "centre_crop_10": (centre_crop(0.10), 0.99),
    "centre_crop_7_13_random": (centre_crop_between(0.07, 0.13), 0.0),
    "brightness": (lambda i, r: ImageEnhance.Brightness(i).enhance(r.choice([0.7, 1.3])), 0.99),
    "contrast": (lambda i, r: ImageEnhance.Contrast(i).enhance(r.choice([0.7, 1.4])), 0.99),
    "greyscale": (lambda i, r: ImageOps.grayscale(i).convert("RGB"), 0.99),
    "overlay_logo_corner": (logo, 0.99),
    "overlay_box_10pct_random": (overlay, 0.0),
    "flip_h": (lambda i, r: ImageOps.mirror(i), 0.99),
    "flip_v": (lambda i, r: ImageOps.flip(i), 0.99),
    "rotate_90": (lambda i, r: i.transpose(r.choice([Image.Transpose.ROTATE_90,
                                                     Image.Transpose.ROTATE_270])), 0.99),
    "rotate_180": (lambda i, r: i.transpose(Image.Transpose.ROTATE_180), 0.99),
    "border_5pct": (border, 0.99),
    "letterbox_16_9": (letterbox, 0.99),
    "canvas_80pct": (canvas, 0.99),
    "caption_bar_8_25": (caption, 0.90),
    "one_side_crop_3": (side_crop(0.03), 0.0),
    "one_side_crop_5": (side_crop(0.05), 0.90),
    "one_side_crop_10": (side_crop(0.10), 0.0),
    "flip_plus_border": (lambda i, r: border(ImageOps.mirror(i), r), 0.0),
    "alpha_channel": (alpha_hidden, 0.99),
    "rotate_5deg": (lambda i, r: i.rotate(r.choice([-5, 5]), expand=True), 0.0),
}


def decode_upload(img: Image.Image, rng: random.Random) -> Image.Image:
    """What the server hashes: the copy as uploaded (PNG for alpha, else JPEG q 75-95)."""
    if img.mode == "RGBA":
        out = io.BytesIO()
        img.save(out, format="PNG")
        out.seek(0)
        with Image.open(out) as back:
            back.load()
            return back.copy()
    return jpeg(img, rng.randrange(75, 96))


def codes(values: list[str]) -> np.ndarray:
    return np.frombuffer(b"".join(bytes.fromhex(v) for v in values), np.uint8).reshape(-1, 32)


class Bank:
    def __init__(self, n_random: int, seed: int) -> None:
        self.index = faiss.IndexBinaryFlat(256)
        self.owner: list[int] = []  # photo number of each row; -1 random
        rows = np.random.default_rng(seed).integers(0, 256, (n_random, 32), dtype=np.uint8)
        self.index.add(rows)
        self.owner += [-1] * n_random
        self.real = 0

    def add(self, photo: int, values: list[str]) -> None:
        self.index.add(codes(values))
        self.owner += [photo] * len(values)
        self.real += len(values)

    def query(self, values: list[str]) -> list[tuple[int, int]]:
        """(owner, distance) of every row within the threshold of any query value."""
        if not values:
            return []
        _lims, dists, ids = self.index.range_search(codes(values), THRESHOLD + 1)
        return [(self.owner[int(i)], int(d)) for i, d in zip(ids, dists, strict=True)]


def bank_values(img: Image.Image) -> list[str]:
    value, quality = pdq(img)
    out = [value] if quality >= PDQ_MIN_QUALITY else []
    out += [h for h, q in pdq_augmented(img) if q >= PDQ_MIN_QUALITY]
    out += [v.value for v in pv.bank_hashes(img) if v.quality >= PDQ_MIN_QUALITY]
    return list(dict.fromkeys(out))


def query_values(img: Image.Image) -> list[str]:
    return list(dict.fromkeys(v.value for v in pv.query_hashes(img)
                              if v.quality >= PDQ_MIN_QUALITY))


def tiles(img: Image.Image, grid: int = 4) -> list[Image.Image]:
    w, h = img.size
    return [img.crop((x * w // grid, y * h // grid, (x + 1) * w // grid, (y + 1) * h // grid))
            for y in range(grid) for x in range(grid)]


def video_frames() -> list[Image.Image]:
    """One frame a second of each shared sample video (queries against the photo bank)."""
    import av
    folder = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "vpdq"
    if not folder.is_dir():
        folder = Path("/work/shared/testdata/vpdq")
    out = []
    for path in sorted(folder.glob("*.mp4")):
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = float(stream.average_rate or 25)
            for n, frame in enumerate(container.decode(stream)):
                if n % max(1, round(rate)) == 0:
                    out.append(frame.to_image())
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--random", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--set", choices=("report", "tune", "all"), default="report")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--skip-costs", action="store_true",
                        help="recall and false matches only (re-draws under other seeds)")
    args = parser.parse_args()
    command()
    faiss.omp_set_num_threads(1)  # as the server does (services/bank_sync.MATCHER_THREADS)
    photos = real_photos()
    names = sorted(photos)
    tune = set(names[::3])
    chosen = [n for n in names if args.set == "all" or (n in tune) == (args.set == "tune")]
    print(f"{len(photos)} real photos found ({len(tune)} for tuning); reporting on "
          f"{len(chosen)} ({args.set}): {', '.join(chosen)}")
    rng = random.Random(args.seed)
    bank = Bank(args.random, args.seed)
    number = {n: i for i, n in enumerate(names)}
    t0 = time.perf_counter()
    for name in names:
        bank.add(number[name], bank_values(photos[name]))
    flat = [n for n in chosen if pdq(photos[n])[1] < PDQ_MIN_QUALITY]
    chosen = [n for n in chosen if n not in flat]
    print(f"left out of recall (PDQ quality < {PDQ_MIN_QUALITY}: banked by exact hashes "
          f"only): {', '.join(flat) or 'none'}")
    print(f"bank: {bank.real} real rows for {len(names)} photos "
          f"({bank.real / len(names):.1f} a photo) + {args.random:,} random hashes; "
          f"built in {time.perf_counter() - t0:.1f}s")

    recall: dict[str, list[bool]] = defaultdict(list)
    nearest: dict[str, list[int]] = defaultdict(list)
    false_hits = 0
    queries = 0
    query_ms: list[float] = []
    for name in chosen:
        for tname, (transform, _) in TRANSFORMS.items():
            copy = decode_upload(transform(photos[name], rng), rng)
            t = time.perf_counter()
            values = query_values(copy)
            hits = bank.query(values)
            query_ms.append((time.perf_counter() - t) * 1000)
            own = [d for o, d in hits if o == number[name]]
            recall[tname].append(bool(own))
            if not own and args.verbose:
                print(f"  miss {tname} {name}")
            nearest[tname].append(min(own) if own else 999)
            false_hits += any(o != number[name] for o, _ in hits)
            queries += 1

    print(f"\nrecall at threshold {THRESHOLD} on {len(chosen)} photos "
          "(distance: nearest bank row of the photo, p10/median/p90; 999 = none within)")
    for tname, (_, target) in TRANSFORMS.items():
        caught = recall[tname]
        rate = sum(caught) / len(caught)
        d = sorted(nearest[tname])
        spread = f"{d[len(d) // 10]}/{d[len(d) // 2]}/{d[(9 * len(d)) // 10]}"
        mark = "" if not target else ("  ok" if rate >= target else f"  BELOW {target:.0%}")
        print(f"  {tname:20s} {rate:7.1%}  ({sum(caught)}/{len(caught)})  distance {spread}"
              f"{mark}")
        result(f"recall_{tname}", round(100 * rate, 1), "%",
               f">= {target:.0%}" if target else "reported")

    unbanked: list[tuple[int, Image.Image]] = []
    for name in names:
        for part in [photos[name], *tiles(photos[name])]:
            unbanked.append((number[name], part))
    distinct = len(unbanked)
    false_unbanked = 0
    low = 0
    checked = 0
    variants: list[Transform] = [lambda i, r: i, lambda i, r: ImageOps.mirror(i), border,
                                 caption]
    for owner, img in unbanked:
        for make in variants:
            copy = decode_upload(make(img, rng), rng)
            values = query_values(copy)
            if not values:
                low += 1
                continue
            checked += 1
            if any(o != owner for o, _ in bank.query(values)):
                false_unbanked += 1
    frames = video_frames()
    false_frames = sum(any(True for _ in bank.query(query_values(f))) for f in frames)
    print(f"\nfalse matches: {false_unbanked} of {checked} unbanked queries "
          f"({distinct} distinct images: {len(names)} photos + {distinct - len(names)} "
          f"non-overlapping tiles, each as is, mirrored, bordered and captioned; {low} "
          f"too flat to hash); {false_hits} of {queries} recall queries hit another "
          f"photo or a random hash; {false_frames} of {len(frames)} video frames "
          "(shared samples, 1 a second) matched the photo bank")
    result("false_matches_unbanked", false_unbanked, "queries", "0")
    result("false_matches_recall_queries", false_hits, "queries", "0")
    result("false_matches_video_frames", false_frames, "frames", "0")
    ms = sorted(query_ms)
    print(f"query (variants + search, {bank.index.ntotal:,} rows): p50 {ms[len(ms) // 2]:.1f} "
          f"ms, p99 {ms[int(0.99 * len(ms))]:.1f} ms")
    result("query_p50", round(ms[len(ms) // 2], 1), "ms")
    if not args.skip_costs:
        for rows in (100_000, 1_000_000):
            costs(photos, rows)


def costs(photos: dict[str, Image.Image], rows: int) -> None:
    """CPU of the query variants on a 1-Mpx upload and of searching them one by one
    (as ``Matcher.query`` does) in a flat index of ``rows`` hashes."""
    big = [p.resize((1155, 866), Image.Resampling.LANCZOS) for p in list(photos.values())[:10]]
    plain, variants, n_hashes = [], [], []
    for img in big:
        c0 = time.process_time()
        pdq(img)
        plain.append((time.process_time() - c0) * 1000)
        c0 = time.process_time()
        values = query_values(img)
        variants.append((time.process_time() - c0) * 1000)
        n_hashes.append(len(values))
    index = faiss.IndexBinaryFlat(256)
    index.add(np.random.default_rng(1).integers(0, 256, (rows, 32), dtype=np.uint8))
    one: list[float] = []
    for img in big:
        q = codes(query_values(img))
        c0 = time.process_time()
        for row in q:
            index.range_search(row[None, :], THRESHOLD + 1)
        one.append((time.process_time() - c0) * 1000)
    med = sorted(plain)[len(plain) // 2]
    medv = sorted(variants)[len(variants) // 2]
    print(f"\ncosts on 1155x866 copies of 10 photos (CPU, one thread): one plain PDQ "
          f"{med:.1f} ms; all query variants {medv:.1f} ms "
          f"({sorted(n_hashes)[len(n_hashes) // 2]} hashes); searching them one by one "
          f"in {rows:,} rows {sorted(one)[len(one) // 2]:.2f} ms")
    result("query_variants_cpu", round(medv, 1), "ms")
    result("plain_pdq_cpu", round(med, 1), "ms")
    result(f"variant_search_{rows}", round(sorted(one)[len(one) // 2], 2), "ms")


if __name__ == "__main__":
    main()

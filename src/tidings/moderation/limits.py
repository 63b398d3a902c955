"""Named limits and thresholds of the moderation engine.

Every number that decides whether two things "match", or how much input the
engine accepts, lives here so that reviews and transparency reports can cite
one place. (DESIGN.md puts protocol limits in ``protocol/limits.py``; these are
engine-internal matching thresholds, kept beside the engine that owns them.)
"""

from typing import Final

# --- PDQ -------------------------------------------------------------------
#: Hamming distance at or below which two PDQ hashes are the same picture.
#: 31/256 is Meta's published "confident match" threshold (PDQ paper, sec. 5).
PDQ_DEFAULT_THRESHOLD: Final = 31
#: Largest threshold a bank may configure; above ~70 bits random hashes start
#: to collide (the expected distance of unrelated hashes is 128).
PDQ_MAX_THRESHOLD: Final = 70
#: Hashes of images with PDQ quality below this are too flat to be trusted
#: (same value as pytx's PdqSignal.QUALITY_THRESHOLD).
PDQ_MIN_QUALITY: Final = 50
PDQ_BITS: Final = 256
PDQ_BYTES: Final = PDQ_BITS // 8
#: Decoded images above this many pixels are refused (decompression bombs).
MAX_IMAGE_PIXELS: Final = 64_000_000
#: Pictures are reduced (by an integer box filter) to at most about this many pixels
#: a side before PDQ at upload: PDQ's own filter runs over every pixel, so a 1-Mpx
#: photo costs ~4x a 512-px one for a hash a few bits away (Meta's reference hasher
#: downsamples to 512 the same way).
PDQ_HASH_MAX_SIDE: Final = 512
#: Bank-side augmentation: centre crops (fraction removed per side) hashed in
#: addition to the original, because PDQ alone does not survive small crops.
PDQ_AUGMENT_CROP_FRACTIONS: Final = (0.02, 0.04)

# --- text ------------------------------------------------------------------
MAX_TEXT_CHARS: Final = 100_000
#: Character shingle length of the near-duplicate signature.
TEXT_NEAR_SHINGLE: Final = 5
#: MinHash permutations; the signature is this many 32-bit minima.
TEXT_NEAR_PERMUTATIONS: Final = 64
#: LSH bands x rows must equal the permutation count.
TEXT_NEAR_BANDS: Final = 16
TEXT_NEAR_ROWS: Final = 4
#: Default distance threshold: number of differing MinHash slots out of 64.
#: 24/64 differing = estimated Jaccard >= 0.625 on 5-char shingles (a post
#: with a sentence of ~20% removed still matches; unrelated texts sit at 50+).
TEXT_NEAR_DEFAULT_THRESHOLD: Final = 24
#: Normalised texts shorter than this get no near-duplicate signal: short
#: strings share most shingles with too many innocent strings.
TEXT_NEAR_MIN_CHARS: Final = 40
#: Candidate cap per near-duplicate query so one query cannot scan a bank.
TEXT_NEAR_MAX_CANDIDATES: Final = 10_000
#: Partial quotes (``text_quote``): character shingles of the compact form
#: (letters and digits only, so 12 characters are two to three words). Long
#: enough that unrelated texts share almost none (measured by
#: benchmarks/text_matching.py), short enough that an edit every few words
#: leaves most shingles intact.
TEXT_QUOTE_SHINGLE: Final = 12
#: Banked texts shorter than this (compact characters) get no quote signature:
#: quoting part of a slogan is quoting a slogan (see TEXT_SLOGAN_*).
TEXT_QUOTE_MIN_CHARS: Final = 60
#: Distance = 64 - (sampled banked shingles found in the post). 40 means 24
#: hits, an estimated 37.5 % of the banked text: a 60 % quote scores a median
#: distance of 27 and a 99th percentile of 38 on real paragraphs (the estimate
#: has sd ~6 % and the quote loses 11 shingles at each cut). 42 matched two
#: templated messages sharing 42 % of their text at distance 41
#: (benchmarks/text_matching.py measures recall and false matches).
TEXT_QUOTE_DEFAULT_THRESHOLD: Final = 40
#: Loosest a bank may set (16 hits, 25 % of the banked text).
TEXT_QUOTE_MAX_THRESHOLD: Final = 48
#: Short banked texts (slogans) match inside longer posts only when the entry
#: opts in, and only from this many compact characters ("allahuakbar", 11,
#: can never be one).
TEXT_SLOGAN_MIN_CHARS: Final = 12
#: Longest slogan entry, in characters of its normalised text.
TEXT_SLOGAN_MAX_CHARS: Final = 280

# --- URLs ------------------------------------------------------------------
MAX_URL_CHARS: Final = 4_096
MAX_URLS_PER_TEXT: Final = 50

# --- media -----------------------------------------------------------------
MAX_MEDIA_BYTES: Final = 100 * 1024 * 1024

# --- import / export -------------------------------------------------------
MAX_IMPORT_BYTES: Final = 256 * 1024 * 1024
MAX_IMPORT_LINES: Final = 5_000_000
MAX_LINE_CHARS: Final = 8_192
MAX_LABELS_PER_ENTRY: Final = 32
MAX_SOURCE_CHARS: Final = 256
#: Exchange fetch: stop after this many batches even if the API keeps going.
MAX_FETCH_BATCHES: Final = 100_000

# --- banks -----------------------------------------------------------------
BANK_NAME_PATTERN: Final = r"[A-Z][A-Z0-9_]{2,63}"

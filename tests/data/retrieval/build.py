"""Build the retrieval evaluation's artifact catalogue and labelled queries, deterministically (seeded).

    .venv/bin/python tests/data/retrieval/build.py          # (re)writes catalogue.jsonl and queries.jsonl here
    .venv/bin/python tests/data/retrieval/build.py --check  # exit 1 if the files differ from what it builds

Artifacts come from the vocabulary tables in vocab.py (domains x projects x artifact types, with the wording,
names, tags, metadata and content picked per artifact by a seeded RNG). Every artifact carries its ground truth
(`truth`: domain, project, task family, the fields it holds, its algorithm); queries are written from an intent
over that ground truth and graded by `grade()` from the intent alone: no retrieval method is run here, and no
model output feeds a label. README.md explains the rules and the biases.
"""

from __future__ import annotations

import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from vocab import (  # noqa: E402
    CONTENT_PATTERNS,
    DEPRECATED_MODEL,
    DESCRIPTIONS,
    ENGINES,
    FAMILY_QUERIES,
    GENERIC_TEMPLATES,
    MIXED_PATTERN,
    ORCHESTRATORS,
    PARAPHRASE_PATTERNS,
    PREDICTIVE,
    SCHEDULES,
    STOPWORDS,
    TYPE_KEYWORDS,
    UTILITIES,
    UTILITY_DESCRIPTIONS,
    Domain,
    Project,
)

SEED = 20240611
CATALOGUE = HERE / "catalogue.jsonl"
QUERIES = HERE / "queries.jsonl"

# Types a query for one type also finds useful (grade 2 within the same domain).
ADJACENT = {
    "model": {"model_template", "notebook"},
    "model_template": {"model"},
    "feature_pipeline": {"dataset", "schema"},
    "dataset": {"schema", "feature_pipeline"},
    "schema": {"dataset", "feature_pipeline"},
    "notebook": {"model", "dataset"},
}
NAME_PATTERNS = {
    "feature_pipeline": ("{p}_{s}_features", "{p}-{s}-fe", "{s}_feature_etl_{p}", "{p}_{s}_{sched}_features"),
    "dataset": ("{p}_{s}_training_{year}", "{p}-{s}-labels", "{s}_{p}_snapshot_v{n}", "{p}_{s}_eval_{year}"),
    "schema": ("{p}_{s}_features_schema", "{s}-{p}-contract-v{n}", "{p}.{s}.record"),
    "notebook": ("{p}_{s}_eda", "{s}-{p}-exploration", "{initials}_{s}_analysis_{p}", "{p}_{s}_error_analysis"),
    "model": ("{p}_{s}_{a}", "{p}-{s}-{a}-v{n}", "{s}_{p}_{a}_model"),
    "model_template": ("{s}-model-template", "{s}_starter_{a}"),
}
INITIALS = ("jd", "mk", "ap", "rs", "lt", "ob", "hn", "cw")
RUNTIMES = ("SageMaker Studio", "Databricks", "JupyterHub")
DATASET_FORMATS = ("parquet", "delta", "csv")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass
class Built:
    record: dict
    truth: dict


class CatalogueBuilder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.items: list[Built] = []
        self.names: set[tuple[str, str]] = set()

    # -------------------------------------------------------------- names and wording
    def _name(self, kind: str, prefix: str, stem: str, short: str = "") -> str:
        rng = self.rng
        pattern = rng.choice(NAME_PATTERNS[kind])
        separator = "_" if "_" in pattern else "-"
        swap = (lambda s: s.replace("-", "_")) if separator == "_" else (lambda s: s.replace("_", "-"))
        name = pattern.format(
            p=swap(prefix),
            s=swap(stem),
            a=swap(short),
            year=rng.choice((2022, 2023, 2024)),
            n=rng.randint(1, 4),
            sched=rng.choice(("daily", "hourly", "weekly")),
            initials=rng.choice(INITIALS),
        )
        base, suffix = name, 2
        while (kind, name.casefold()) in self.names:  # names are unique per type
            name, suffix = f"{base}{separator}{suffix}", suffix + 1
        self.names.add((kind, name.casefold()))
        return name

    def _slots(self, domain: Domain, project: Project, concept: str, fields: list, algo: tuple) -> dict:
        rng = self.rng
        shown = rng.sample(fields, k=min(3, len(fields)))
        metric_value = (
            f"{rng.uniform(7, 24):.1f}%"
            if domain.metric in ("WAPE", "MAPE")
            else f"{rng.uniform(3, 14):.1f}"
            if domain.metric.startswith("MAE")
            else f"{rng.uniform(0.55, 0.93):.2f}"
        )
        schedule = rng.choice(SCHEDULES)
        return {
            "concept": concept,
            "Concept": _cap(concept),
            "context": project.context,
            "entity": domain.entity,
            "label": domain.label,
            "fields": ", ".join(f[1] for f in shown),
            "field_names": ", ".join(f[0] for f in shown),
            "algo": algo[0],
            "Algo": _cap(algo[0]),
            "task": domain.task,
            "metric": domain.metric,
            "value": metric_value,
            "rows": f"{rng.choice((1.2, 3.4, 8, 12, 25, 40, 180))}M",
            "source": project.source,
            "team": project.team,
            "year": str(rng.choice((2022, 2023, 2024))),
            "n": str(rng.randint(1, 4)),
            "engine": rng.choice(ENGINES),
            "orchestrator": rng.choice(ORCHESTRATORS),
            "schedule": schedule,
            "Schedule": _cap(schedule),
        }

    def _tags(self, domain: Domain, kind: str) -> list[str]:
        rng = self.rng
        tags = rng.sample(domain.tags, k=rng.randint(2, min(3, len(domain.tags))))
        if rng.random() < 0.5:
            tags.append({"feature_pipeline": "features", "model_template": "template"}.get(kind, kind))
        return sorted(set(tags))

    def _common(self) -> dict:
        rng = self.rng
        return {
            "impact_score": round(rng.uniform(5, 95), 1),
            "usage_count": rng.randint(0, 400),
            "updated_at": f"{rng.choice((2023, 2024, 2025))}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            f"T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
            "deprecated": False,
        }

    def _add(self, record: dict, truth: dict) -> dict:
        self.items.append(Built({**record, **self._common()}, truth))
        return self.items[-1].record

    # -------------------------------------------------------------- content
    def _content(
        self, kind: str, name: str, domain: Domain, project: Project, concept: str, fields: list, algo: tuple
    ) -> dict | None:
        rng = self.rng
        described = [{"name": f, "description": d} for f, d in fields]
        if kind == "schema":
            if rng.random() < 0.5:
                record_name = "".join(_cap(w) for w in re.split(r"[^A-Za-z0-9]+", name) if w)
                document = {
                    "type": "record",
                    "name": record_name,
                    "namespace": f"com.acme.{project.team}",
                    "doc": f"{_cap(concept)} inputs for {project.context}.",
                    "fields": [
                        {"name": f["name"], "type": ["null", "double"], "doc": f["description"]} for f in described
                    ],
                }
                return {
                    "name": f"{name}.avsc",
                    "content_type": "application/octet-stream",
                    "text": json.dumps(document, indent=2),
                }
            document = {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": name,
                "description": f"One {domain.entity} record for {concept} ({project.context}).",
                "type": "object",
                "properties": {
                    "key": {"type": "string", "description": f"{domain.entity} identifier"},
                    "features": {
                        "type": "object",
                        "description": "model inputs",
                        "properties": {
                            f["name"]: {"type": "number", "description": f["description"]} for f in described
                        },
                    },
                },
            }
            return {
                "name": f"{name}.json",
                "content_type": "application/schema+json",
                "text": json.dumps(document, indent=2),
            }
        if kind == "feature_pipeline":
            roll = rng.random()
            if roll < 0.2:  # dbt models are SQL: nothing is extracted from them
                columns = ",\n  ".join(f[0] for f in fields)
                return {
                    "name": f"{name}.sql",
                    "content_type": "application/sql",
                    "text": f"select\n  {columns}\nfrom {{{{ ref('{project.prefix}_base') }}}}\n",
                }
            if roll < 0.35:
                return None
            functions = "\n\n".join(
                f'def build_{f}(frame):\n    """{_cap(d)}."""\n    return frame[{f!r}]' for f, d in fields
            )
            source = (
                f'"""{_cap(concept)} features for {project.context}.\n\nReads {project.source} and writes one '
                f'row per {domain.entity}.\n"""\nimport pandas as pd\n\n\n'
                f'def load(start, end):\n    """Read the {project.source} extract between start and end."""\n'
                f'    return pd.read_parquet("{project.source}")\n\n\n{functions}\n'
            )
            return {"name": f"{name}.py", "content_type": "text/x-python", "text": source}
        if kind == "notebook":
            if rng.random() < 0.4:
                return None
            bullets = "\n".join(f"- `{f}`: {d}" for f, d in fields)
            cells = [
                {
                    "cell_type": "markdown",
                    "metadata": {},
                    "source": [f"# {_cap(concept)}: {project.context}\n", "\n", f"Owner: {project.team}."],
                },
                {
                    "cell_type": "code",
                    "metadata": {},
                    "execution_count": 1,
                    "outputs": [],
                    "source": [
                        "import pandas as pd\n",
                        f'frame = pd.read_parquet("{project.source}")\n',
                        "frame.describe()",
                    ],
                },
                {"cell_type": "markdown", "metadata": {}, "source": f"## Inputs\n{bullets}"},
                {
                    "cell_type": "code",
                    "metadata": {},
                    "execution_count": 2,
                    "outputs": [{"output_type": "stream", "name": "stdout", "text": ["(1204332, 14)\n"]}],
                    "source": f"features = {[f for f, _ in fields]!r}\nprint(frame[features].shape)",
                },
                {
                    "cell_type": "markdown",
                    "metadata": {},
                    "source": f"## Baseline\n{algo[0]} on the inputs above, {domain.metric or 'results'} below.",
                },
            ]
            notebook = {
                "cells": cells,
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
            return {
                "name": f"{name}.ipynb",
                "content_type": "application/x-ipynb+json",
                "text": json.dumps(notebook, indent=1),
            }
        if kind == "dataset":
            if rng.random() < 0.5:
                return None
            columns = "\n".join(f"| `{f}` | {d} |" for f, d in fields)
            card = (
                f"# {name}\n\n{_cap(concept)} data for {project.context}, from `{project.source}`.\n\n"
                f"| column | meaning |\n|---|---|\n{columns}\n\nLabel: {domain.label or 'none'}.\n"
            )
            return {"name": "README.md", "content_type": "text/markdown", "text": card}
        if kind == "model_template":
            if rng.random() < 0.4:
                return None
            source = (
                f'"""{_cap(concept)} training template ({algo[0]}).\n\nConfigure `config.yaml`, then run '
                f'`python train.py`.\n"""\n\n\nclass Trainer:\n    """Fits {algo[0]} and logs to MLflow."""\n\n'
                f'    def fit(self, frame):\n        """Time-based split, fit, evaluate {domain.metric}."""\n'
                f"        raise NotImplementedError\n"
            )
            return {"name": "train.py", "content_type": "text/x-python", "text": source}
        return None  # models are binaries (model.onnx, model.pkl): nothing to extract

    # -------------------------------------------------------------- artifacts
    def _metadata(self, kind: str, domain: Domain, project: Project, algo: tuple, slots: dict) -> dict:
        rng = self.rng
        metadata: dict = {"owner_team": project.team, "language": "python"}
        if kind == "feature_pipeline":
            metadata.update(orchestrator=slots["orchestrator"], schedule=slots["schedule"], engine=slots["engine"])
            if slots["engine"] == "dbt":
                metadata["language"] = "sql"
        elif kind == "dataset":
            metadata.update(
                format=rng.choice(DATASET_FORMATS),
                source=project.source,
                rows=int(float(slots["rows"][:-1]) * 1_000_000),
                refresh="monthly",
            )
            metadata.pop("language")
        elif kind == "schema":
            metadata.update(format=rng.choice(("avro", "json-schema")), version=int(slots["n"]))
            metadata.pop("language")
        elif kind == "notebook":
            metadata.update(kernel="python3", runtime=rng.choice(RUNTIMES), framework=algo[1])
        elif kind == "model":
            metadata.update(
                framework=algo[1],
                algorithm=algo[0],
                metrics={domain.metric: slots["value"]},
                stage=rng.choice(("production", "staging")),
            )
        elif kind == "model_template":
            metadata.update(framework=algo[1], entrypoint="train.py")
        return metadata

    def artifact(
        self,
        kind: str,
        domain: Domain,
        project: Project,
        favoured: int,
        fields: list,
        algo: tuple,
        template: str | None = None,
        extra_slots: dict | None = None,
        deprecated: bool = False,
    ) -> dict:
        rng = self.rng
        index = favoured if rng.random() < 0.7 else rng.randrange(len(domain.concepts))
        concept = domain.concepts[index]
        stem = domain.stems[favoured if rng.random() < 0.7 else rng.randrange(len(domain.stems))]
        slots = {**self._slots(domain, project, concept, fields, algo), **(extra_slots or {})}
        table = UTILITY_DESCRIPTIONS if domain.utility else DESCRIPTIONS
        description = (template or rng.choice(table[kind])).format(**slots)
        name = self._name(kind, project.prefix, stem, algo[2])
        if deprecated:  # the team's older model: same naming habit, marked as legacy
            name = f"{name}_legacy" if "_" in name else f"{name}-legacy"
        record = {
            "name": name,
            "type": kind,
            "description": description,
            "tags": self._tags(domain, kind),
            "metadata": self._metadata(kind, domain, project, algo, slots),
        }
        content = self._content(kind, name, domain, project, concept, fields, algo)
        if content:
            record["content"] = content
        truth = {
            "domain": domain.key,
            "project": f"{domain.key}/{project.key}",
            "family": domain.family,
            "fields": sorted(f for f, _ in fields),
            "algo": algo[0],
            "generic": False,
        }
        stored = self._add(record, truth)
        stored["deprecated"] = deprecated
        return stored

    def build(self) -> list[Built]:
        rng = self.rng
        for domain in PREDICTIVE + UTILITIES:
            for project in domain.projects:
                favoured = rng.randrange(len(domain.concepts))
                fields = rng.sample(domain.fields, k=min(len(domain.fields), rng.randint(4, 6)))
                algo = rng.choice(domain.algos)
                current = {kind: self.artifact(kind, domain, project, favoured, fields, algo) for kind in domain.types}
                if domain.utility:
                    continue
                if rng.random() < 0.4:  # an older model, superseded by the current one
                    older = rng.choice([a for a in domain.algos if a != algo])
                    self.artifact(
                        "model",
                        domain,
                        project,
                        favoured,
                        fields,
                        older,
                        template=DEPRECATED_MODEL,
                        extra_slots={"successor": current["model"]["name"]},
                        deprecated=True,
                    )
                if rng.random() < 0.3:  # a second notebook
                    self.artifact("notebook", domain, project, favoured, fields, algo)
            if domain.has_template:
                project = domain.projects[0]
                self.artifact(
                    "model_template",
                    domain,
                    project,
                    rng.randrange(len(domain.concepts)),
                    list(domain.fields),
                    rng.choice(domain.algos),
                )
                self.items[-1].truth["project"] = None  # a domain template serves every project
        for family, name, framework, description in GENERIC_TEMPLATES:
            self.names.add(("model_template", name.casefold()))
            record = {
                "name": name,
                "type": "model_template",
                "description": description,
                "tags": sorted({"template", family.replace("_", "-"), framework}),
                "metadata": {
                    "owner_team": "ml-platform",
                    "language": "python",
                    "framework": framework,
                    "entrypoint": "train.py",
                },
            }
            self._add(
                record, {"domain": None, "project": None, "family": family, "fields": [], "algo": None, "generic": True}
            )
        # Ids in a seeded shuffled order: nothing about an artifact can be read from its id.
        order = list(range(len(self.items)))
        rng.shuffle(order)
        for number, index in enumerate(order, start=1):
            self.items[index].record["id"] = f"art-{number:04d}"
        return self.items


# ------------------------------------------------------------------ labels
def grade(item: Built, intent: dict, by_id: dict[str, Built]) -> int:
    """The relevance (0..3) of an artifact to an intent, from ground truth only. See README.md."""
    truth, kind = item.truth, item.record["type"]
    if "target" in intent:
        target = by_id[intent["target"]]
        if item is target:
            return 3
        if truth["project"] and truth["project"] == target.truth["project"]:
            return 2
        same_domain = truth["domain"] is not None and truth["domain"] == target.truth["domain"]
        return 1 if same_domain and kind == target.record["type"] else 0
    if "family" in intent:  # a task-level template query
        if kind != "model_template" or truth["family"] != intent["family"]:
            return 0
        return 3 if truth["generic"] else 2
    wanted = intent["type"]
    if truth["domain"] != intent["domain"]:
        generic_helpful = (
            truth["generic"] and wanted in ("model", "model_template") and truth["family"] == intent["family_of_domain"]
        )
        return 1 if generic_helpful else 0
    if "field" in intent:
        has_field = intent["field"] in truth["fields"]
        if kind == wanted:
            return 3 if has_field else 1
        return 2 if has_field and kind in ADJACENT[wanted] else 1
    matches_project = "project" not in intent or truth["project"] in (intent["project"], None)
    matches_algo = "algo" not in intent or truth["algo"] == intent["algo"]
    if kind == wanted:
        return 3 if matches_project and matches_algo else 2
    if kind in ADJACENT[wanted]:
        return 2 if matches_project else 1
    return 1


_WORD = re.compile(r"[\w-]+")


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def _shares_words(phrase: str, items: list[Built]) -> list[str]:
    """The subject words of `phrase` that the items' names, tags or descriptions contain: the same word, a word
    with the same first five letters (customer/customers, predict/prediction), or, as keyword search matches
    descriptions, a substring of the description."""
    found = []
    for word in _words(phrase):
        if word in STOPWORDS or len(word) < 3:  # grammar, or the "s" of "tomorrow's"
            continue
        for item in items:
            record = item.record
            catalogue_words = (
                set(_words(record["name"]))
                | {w for t in record["tags"] for w in _words(t)}
                | set(_words(record["description"]))
            )
            hit = (
                word in catalogue_words
                or word in record["description"].casefold()
                or (len(word) >= 5 and any(len(c) >= 5 and c[:5] == word[:5] for c in catalogue_words))
            )
            if hit:
                found.append(f"{word!r} in {record['name']}")
                break
    return found


class QueryBuilder:
    def __init__(self, items: list[Built], seed: int) -> None:
        self.items = items
        self.by_id = {b.record["id"]: b for b in items}
        self.rng = random.Random(seed + 1)
        self.queries: list[dict] = []
        self.seen: set[str] = set()
        self.conflicts: list[str] = []

    def _relevant(self, intent: dict) -> dict[str, int]:
        graded = {b.record["id"]: grade(b, intent, self.by_id) for b in self.items}
        return dict(sorted(((i, g) for i, g in graded.items() if g), key=lambda p: (-p[1], p[0])))

    def add(self, query: str, style: str, intent: dict) -> dict | None:
        if query.casefold() in self.seen:
            return None
        relevant = self._relevant(intent)
        if 3 not in relevant.values():
            return None  # nothing answers the intent exactly: not a query worth asking
        self.seen.add(query.casefold())
        record = {"query": query, "style": style, "intent": intent, "relevant": relevant}
        self.queries.append(record)
        return record

    def _domain_items(self, domain: Domain, kind: str | None = None) -> list[Built]:
        return [b for b in self.items if b.truth["domain"] == domain.key and (kind is None or b.record["type"] == kind)]

    def _check_paraphrase(self, phrase: str, query: dict | None) -> None:
        if query is None:
            return
        recall_set = [self.by_id[i] for i, g in query["relevant"].items() if g >= 2]
        shared = _shares_words(phrase, recall_set)
        if shared:
            self.conflicts.append(f"paraphrase {query['query']!r} shares words with what it should find: {shared}")

    def build(self) -> list[dict]:
        rng = self.rng
        for domain in PREDICTIVE + UTILITIES:
            base = {"domain": domain.key, "family_of_domain": domain.family}
            types = [t for t in DESCRIPTIONS if self._domain_items(domain, t)]
            # Exact-name lookups: verbatim, and (predictive domains) with separators typed as spaces.
            for position, item in enumerate(rng.sample(self._domain_items(domain), k=1 if domain.utility else 2)):
                name = item.record["name"]
                self.add(
                    name if position == 0 else re.sub(r"[_.-]+", " ", name), "exact_name", {"target": item.record["id"]}
                )
            # Keyword style: the catalogue's words for the subject and the type.
            for kind in rng.sample(types, k=1 if domain.utility else 2):
                term = rng.choice(domain.keyword_terms)
                self.add(f"{term} {rng.choice(TYPE_KEYWORDS[kind])}", "keyword", {**base, "type": kind})
            # Paraphrases: the subject in words none of the wanted artifacts use.
            for np, kind in zip(
                domain.paraphrases, rng.sample(types, k=min(len(types), len(domain.paraphrases))), strict=False
            ):
                query = self.add(
                    rng.choice(PARAPHRASE_PATTERNS[kind]).format(np=np), "paraphrase", {**base, "type": kind}
                )
                self._check_paraphrase(np, query)
            if domain.utility:
                continue
            # Mixed: one of the catalogue's words for the subject, the project in the searcher's words.
            project = rng.choice(domain.projects)
            kind = rng.choice(types)
            self.add(
                MIXED_PATTERN.format(
                    term=rng.choice(domain.concepts),
                    type_word=rng.choice(TYPE_KEYWORDS[kind]),
                    context=project.paraphrase,
                ),
                "mixed",
                {**base, "type": kind, "project": f"{domain.key}/{project.key}"},
            )
            # Attribute: a model by its algorithm.
            model = rng.choice(self._domain_items(domain, "model"))
            self.add(
                f"{model.truth['algo']} {rng.choice(domain.keyword_terms)} model",
                "attribute",
                {**base, "type": "model", "algo": model.truth["algo"]},
            )
            # Content: an artifact by a column it holds (named in its content, sometimes in its description).
            kind = rng.choice(("schema", "feature_pipeline", "dataset"))
            holder = rng.choice(self._domain_items(domain, kind))
            column, meaning = rng.choice([f for f in domain.fields if f[0] in holder.truth["fields"]])
            self.add(
                rng.choice(CONTENT_PATTERNS).format(
                    type_word=rng.choice(TYPE_KEYWORDS[kind]), field=rng.choice((column, meaning))
                ),
                "content",
                {**base, "type": kind, "field": column},
            )
        for family, (keyword_query, paraphrase_query) in FAMILY_QUERIES.items():
            self.add(keyword_query, "keyword", {"family": family})
            query = self.add(paraphrase_query, "paraphrase", {"family": family})
            self._check_paraphrase(paraphrase_query, query)
        if self.conflicts:
            raise SystemExit("\n".join(self.conflicts))
        for number, query in enumerate(self.queries, start=1):
            query["id"] = f"q-{number:03d}"
        return self.queries


def build() -> tuple[list[dict], list[dict]]:
    items = CatalogueBuilder(SEED).build()
    queries = QueryBuilder(items, SEED).build()
    catalogue = sorted(({"id": b.record["id"], **b.record, "truth": b.truth} for b in items), key=lambda r: r["id"])
    return catalogue, [{"id": q["id"], **{k: v for k, v in q.items() if k != "id"}} for q in queries]


def render(records: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n" for r in records)


def main(argv: list[str]) -> int:
    catalogue, queries = build()
    outputs = {CATALOGUE: render(catalogue), QUERIES: render(queries)}
    if "--check" in argv:
        stale = [p.name for p, text in outputs.items() if not p.exists() or p.read_text() != text]
        print(f"stale: {', '.join(stale)}" if stale else "up to date")
        return 1 if stale else 0
    for path, text in outputs.items():
        path.write_text(text)
    styles: dict[str, int] = {}
    for query in queries:
        styles[query["style"]] = styles.get(query["style"], 0) + 1
    kinds: dict[str, int] = {}
    for record in catalogue:
        kinds[record["type"]] = kinds.get(record["type"], 0) + 1
    print(f"{len(catalogue)} artifacts {kinds}; {len(queries)} queries {styles}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""A second retrieval corpus that nobody here wrote: Python source modules as artifacts, queried with the
synopses of the Python Standard Library reference's module index.

- Artifacts: every pure-Python module of the running interpreter's standard library (top-level modules, and the
  modules of its packages) plus the modules of libraries installed beside this project (DISTRACTOR_PACKAGES), one
  artifact per file: name = the dotted module name, type model_template, no description, no tags; the content is
  the file itself, read through `extract_content_text` as an uploaded `.py` would be (names, imports, docstrings,
  comments), so whatever search finds, it finds from the code and its own documentation.
- Queries: the one-line synopsis the library reference gives each module ("heapq — Heap queue algorithm"),
  without the module's name: "Heap queue algorithm". Written by the Python documentation's authors, not derived
  from the corpus.
- Relevance: 3 for the module the synopsis documents; 1 for the other modules of its package (json.decoder for
  json). A query whose module is missing from this interpreter is skipped (the evaluation reports how many ran).
"""

from __future__ import annotations

import importlib.util
import sysconfig
from pathlib import Path

DISTRACTOR_PACKAGES = (
    "click",
    "jinja2",
    "yaml",
    "dateutil",
    "attr",
    "packaging",
    "urllib3",
    "requests",
    "idna",
    "charset_normalizer",
    "markupsafe",
    "itsdangerous",
    "jmespath",
)
MAX_FILE_BYTES = 2_000_000
SKIPPED_DIRS = {"test", "tests", "idlelib", "lib2to3", "tkinter", "turtledemo", "site-packages", "__pycache__"}

# module -> its synopsis in the library reference's module index
SYNOPSES = {
    "string": "Common string operations",
    "re": "Regular expression operations",
    "difflib": "Helpers for computing deltas",
    "textwrap": "Text wrapping and filling",
    "stringprep": "Internet String Preparation",
    "datetime": "Basic date and time types",
    "zoneinfo": "IANA time zone support",
    "calendar": "General calendar-related functions",
    "collections": "Container datatypes",
    "heapq": "Heap queue algorithm",
    "bisect": "Array bisection algorithm",
    "weakref": "Weak references",
    "types": "Dynamic type creation and names for built-in types",
    "copy": "Shallow and deep copy operations",
    "pprint": "Data pretty printer",
    "reprlib": "Alternate repr() implementation",
    "enum": "Support for enumerations",
    "graphlib": "Functionality to operate with graph-like structures",
    "numbers": "Numeric abstract base classes",
    "fractions": "Rational numbers",
    "random": "Generate pseudo-random numbers",
    "statistics": "Mathematical statistics functions",
    "functools": "Higher-order functions and operations on callable objects",
    "operator": "Standard operators as functions",
    "pathlib": "Object-oriented filesystem paths",
    "fileinput": "Iterate over lines from multiple input streams",
    "stat": "Interpreting stat() results",
    "filecmp": "File and Directory Comparisons",
    "tempfile": "Generate temporary files and directories",
    "glob": "Unix style pathname pattern expansion",
    "fnmatch": "Unix filename pattern matching",
    "linecache": "Random access to text lines",
    "shutil": "High-level file operations",
    "pickle": "Python object serialization",
    "copyreg": "Register pickle support functions",
    "shelve": "Python object persistence",
    "gzip": "Support for gzip files",
    "bz2": "Support for bzip2 compression",
    "lzma": "Compression using the LZMA algorithm",
    "zipfile": "Work with ZIP archives",
    "tarfile": "Read and write tar archive files",
    "csv": "CSV File Reading and Writing",
    "configparser": "Configuration file parser",
    "tomllib": "Parse TOML files",
    "netrc": "netrc file processing",
    "plistlib": "Generate and parse Apple .plist files",
    "hashlib": "Secure hashes and message digests",
    "hmac": "Keyed-Hashing for Message Authentication",
    "secrets": "Generate secure random numbers for managing secrets",
    "argparse": "Parser for command-line options, arguments and sub-commands",
    "getopt": "C-style parser for command line options",
    "optparse": "Parser for command line options",
    "logging": "Logging facility for Python",
    "getpass": "Portable password input",
    "platform": "Access to underlying platform's identifying data",
    "threading": "Thread-based parallelism",
    "subprocess": "Subprocess management",
    "sched": "Event scheduler",
    "queue": "A synchronized queue class",
    "socket": "Low-level networking interface",
    "ssl": "TLS/SSL wrapper for socket objects",
    "selectors": "High-level I/O multiplexing",
    "signal": "Set handlers for asynchronous events",
    "json": "JSON encoder and decoder",
    "mailbox": "Manipulate mailboxes in various formats",
    "mimetypes": "Map filenames to MIME types",
    "base64": "Base16, Base32, Base64, Base85 Data Encodings",
    "quopri": "Encode and decode MIME quoted-printable data",
    "html": "HyperText Markup Language support",
    "webbrowser": "Convenient web-browser controller",
    "urllib.parse": "Parse URLs into components",
    "urllib.request": "Extensible library for opening URLs",
    "http.client": "HTTP protocol client",
    "http.server": "HTTP servers",
    "http.cookies": "HTTP state management",
    "ftplib": "FTP protocol client",
    "poplib": "POP3 protocol client",
    "imaplib": "IMAP4 protocol client",
    "smtplib": "SMTP protocol client",
    "uuid": "UUID objects according to RFC 4122",
    "socketserver": "A framework for network servers",
    "xmlrpc.client": "XMLRPC client access",
    "ipaddress": "IPv4/IPv6 manipulation library",
    "wave": "Read and write WAV files",
    "colorsys": "Conversions between color systems",
    "gettext": "Multilingual internationalization services",
    "locale": "Internationalization services",
    "cmd": "Support for line-oriented command interpreters",
    "shlex": "Simple lexical analysis",
    "typing": "Support for type hints",
    "pydoc": "Documentation generator and online help system",
    "doctest": "Test interactive Python examples",
    "unittest": "Unit testing framework",
    "bdb": "Debugger framework",
    "pdb": "The Python Debugger",
    "timeit": "Measure execution time of small code snippets",
    "trace": "Trace or track Python statement execution",
    "tracemalloc": "Trace memory allocations",
    "dataclasses": "Data Classes",
    "contextlib": "Utilities for with-statement contexts",
    "abc": "Abstract Base Classes",
    "traceback": "Print or retrieve a stack traceback",
    "warnings": "Warning control",
    "inspect": "Inspect live objects",
    "site": "Site-specific configuration hook",
    "code": "Interpreter base classes",
    "codeop": "Compile Python code",
    "zipimport": "Import modules from Zip archives",
    "pkgutil": "Package extension utility",
    "modulefinder": "Find modules used by a script",
    "runpy": "Locating and executing Python modules",
    "ast": "Abstract Syntax Trees",
    "keyword": "Testing for Python keywords",
    "tokenize": "Tokenizer for Python source",
    "tabnanny": "Detection of ambiguous indentation",
    "pyclbr": "Python module browser support",
    "py_compile": "Compile Python source files",
    "compileall": "Byte-compile Python libraries",
    "dis": "Disassembler for Python bytecode",
    "pickletools": "Tools for pickle developers",
    "struct": "Interpret bytes as packed binary data",
    "codecs": "Codec registry and base classes",
    "concurrent.futures": "Launching parallel tasks",
    "pty": "Pseudo-terminal utilities",
    "tty": "Terminal control functions",
}


def _modules(root: Path, prefix: str = "") -> dict[str, Path]:
    """Dotted module name -> file, for the .py files under root (packages by their __init__)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if any(
            part in SKIPPED_DIRS or part.startswith(("_", ".")) and part != "__init__.py" for part in relative.parts
        ):
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts and path.stat().st_size <= MAX_FILE_BYTES:
            found[prefix + ".".join(parts)] = path
    return found


def corpus() -> tuple[list[dict], list[dict]]:
    """(artifacts, queries) in the shape of tests/data/retrieval's catalogue and queries: each artifact carries
    `content` ({name, content_type, text}); each query `relevant` ({artifact id: grade})."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    modules = _modules(stdlib)
    for package in DISTRACTOR_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            modules.update(_modules(Path(next(iter(spec.submodule_search_locations))), prefix=f"{package}."))
    artifacts = []
    for name, path in sorted(modules.items()):
        artifacts.append(
            {
                "id": name,
                "name": name,
                "type": "model_template",
                "description": "",
                "tags": [],
                "metadata": {"package": name.split(".")[0]},
                "impact_score": 50.0,
                "usage_count": 0,
                "updated_at": "2026-01-01T00:00:00Z",
                "deprecated": False,
                "content": {
                    "name": path.name,
                    "content_type": "text/x-python",
                    "text": path.read_text(encoding="utf-8", errors="replace"),
                },
            }
        )
    ids = {a["id"] for a in artifacts}
    queries = []
    for module, synopsis in SYNOPSES.items():
        if module not in ids:
            continue
        package = module.split(".")[0]
        relevant = {i: 1 for i in ids if i == package or i.startswith(f"{package}.")}
        relevant[module] = 3
        queries.append({"id": module, "query": synopsis, "style": "library_doc", "relevant": relevant})
    return artifacts, queries

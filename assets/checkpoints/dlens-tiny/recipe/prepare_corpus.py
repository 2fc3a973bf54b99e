#!/usr/bin/env python3
"""Build the English corpus of dlens-tiny from Debian packages (never committed raw).

Downloads dict-gcide (GCIDE dictionary), fortunes and fortunes-min with
`apt-get download`, extracts them with `dpkg -x`, and writes two cleaned files:
  OUT/define.jsonl   {"word": ..., "definition": ...}   first sense of each headword
  OUT/fortune.jsonl  {"text": ...}                      short one-paragraph fortunes
Usage: python3 prepare_corpus.py OUT_DIR
"""
import gzip, json, os, re, subprocess, sys, tempfile, glob

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64num(s):
    n = 0
    for c in s:
        n = n * 64 + B64.index(c)
    return n


def fetch(pkgs, root):
    debs = os.path.join(root, "debs")
    os.makedirs(debs, exist_ok=True)
    subprocess.run(["apt-get", "download", *pkgs], cwd=debs, check=True,
                   stdout=subprocess.DEVNULL)
    for deb in glob.glob(os.path.join(debs, "*.deb")):
        subprocess.run(["dpkg", "-x", deb, os.path.join(root, "x")], check=True)
    return os.path.join(root, "x")


SENSE = re.compile(r"^\s*(?:1\.\s*)?(?:\([a-z]\)\s*)?(.+)")


def clean_definition(body):
    lines = body.split("\n")[1:]          # first line is the headword and pronunciation
    text = " ".join(l.strip() for l in lines)
    text = re.sub(r"\[[^\]]*\]", " ", text)        # etymology, [1913 Webster], [Obs.]
    text = re.sub(r"\{([^}]*)\}", r"\1", text)       # cross-reference braces
    text = re.sub(r"--[A-Z][\w.\s]*?(?=[.;]|$)", " ", text)  # --Author citations
    text = re.sub(r"\\[^\\]*\\", " ", text)          # pronunciations
    text = re.sub(r"^\s*(?:[a-z]+\.\s*)+", "", text)  # part-of-speech abbreviations (n. v. t.)
    text = re.sub(r"\s+", " ", text).strip()
    m = re.search(r"(?:^|\s)1\.\s*(.+?)(?=\s2\.|$)", text)
    if m:
        text = m.group(1)
    text = re.split(r"\s(?:Syn:|Note:|See also)", text)[0]
    first = re.match(r"(.+?[.;])(\s|$)", text)
    text = (first.group(1) if first else text).rstrip(";").strip()
    if not text.endswith("."):
        text += "."
    return text


def gcide(root, out):
    data = gzip.open(glob.glob(os.path.join(root, "usr/share/dictd/gcide.dict.dz"))[0]).read()
    seen, n = set(), 0
    with open(os.path.join(out, "define.jsonl"), "w") as f:
        for line in open(os.path.join(root, "usr/share/dictd/gcide.index"), encoding="utf-8"):
            word, off, ln = line.rstrip("\n").split("\t")
            lw = word.lower()
            if not re.fullmatch(r"[a-z]{3,14}", lw) or lw in seen:
                continue
            body = data[b64num(off):b64num(off) + b64num(ln)].decode("utf-8", "replace")
            d = clean_definition(body)
            words = d.split()
            if not (3 <= len(words) <= 24) or not re.fullmatch(r"[A-Za-z ,;'()\-.]+", d):
                continue
            seen.add(lw)
            f.write(json.dumps({"word": lw, "definition": d[0].upper() + d[1:]}) + "\n")
            n += 1
    return n


def fortunes(root, out):
    n = 0
    with open(os.path.join(out, "fortune.jsonl"), "w") as f:
        for path in sorted(glob.glob(os.path.join(root, "usr/share/games/fortunes/*"))):
            if "." in os.path.basename(path) or os.path.isdir(path):
                continue
            raw = open(path, encoding="utf-8", errors="replace").read()
            for item in raw.split("\n%\n"):
                t = re.sub(r"\s+", " ", item).strip()
                if not re.fullmatch(r"[A-Za-z0-9 ,;:'\".!?()\-]+", t):
                    continue
                if 6 <= len(t.split()) <= 40:
                    f.write(json.dumps({"text": t}) + "\n")
                    n += 1
    return n


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "corpus"
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = fetch(["dict-gcide", "fortunes", "fortunes-min"], tmp)
        nd = gcide(root, out)
        nf = fortunes(root, out)
    print(json.dumps({"define": nd, "fortune": nf, "out": out}))


if __name__ == "__main__":
    main()

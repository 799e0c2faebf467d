"""Okapi BM25 over short documents (product names), the lexical baseline of the evaluation.

Terms are the BERT BasicTokenizer words (lowercased, accents stripped, split on whitespace and
punctuation) with pure-punctuation tokens dropped. Lucene's idf, ln(1 + (N - df + 0.5) / (df + 0.5)),
k1 = 1.2, b = 0.75; a query term repeated q times counts q times.
"""

import math
from collections import Counter, defaultdict

import numpy as np

from bert_tokenizer import basic_tokenize, is_punctuation


def terms(text):
    return [w for w in basic_tokenize(text) if not (len(w) == 1 and is_punctuation(w))]


class BM25:
    def __init__(self, docs, k1=1.2, b=0.75):
        self.n = len(docs)
        toks = [terms(d) for d in docs]
        lens = np.array([len(t) for t in toks], dtype=np.float64)
        avgdl = float(lens.mean()) if self.n else 0.0
        post = defaultdict(lambda: ([], []))
        for i, t in enumerate(toks):
            for term, tf in Counter(t).items():
                post[term][0].append(i)
                post[term][1].append(tf)
        norm = k1 * (1.0 - b + b * lens / avgdl)
        self.index = {}
        for term, (ids, tfs) in post.items():
            ids = np.array(ids, dtype=np.int64)
            tfs = np.array(tfs, dtype=np.float64)
            df = len(ids)
            idf = math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))
            self.index[term] = (ids, idf * tfs * (k1 + 1.0) / (tfs + norm[ids]))

    def scores(self, query):
        s = np.zeros(self.n, dtype=np.float64)
        for term, q in Counter(terms(query)).items():
            hit = self.index.get(term)
            if hit is not None:
                s[hit[0]] += q * hit[1]
        return s

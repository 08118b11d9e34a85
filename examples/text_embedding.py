"""Text classification with an Embedding: a generated corpus of short reviews, positive or negative.

The corpus: each review is 4 to 20 words from a 200-word vocabulary (filler words plus 12 positive
and 12 negative ones, e.g. "plot w17 great w80 not boring w3 dull"); it holds a few sentiment
phrases, more of one polarity than the other, and that majority is its label. A phrase is a
sentiment word or, 30% of the time, "not" and a word of the opposite polarity ("not boring" counts
as positive). Words are mapped to integer ids (0 is padding, 1 an unknown word) and each review is
padded with zeros to 20 ids.

The model is Keras's text baseline: Embedding(vocabulary, 16) -> GlobalAveragePooling1D -> Dense(16,
ReLU) -> Dense(1, sigmoid), binary cross-entropy, Adam, 20% of the training set for validation and
EarlyStopping with the best weights restored. The average of the word vectors is a bag of words: it
counts positive against negative words but cannot see which word a "not" negates, so it cannot be
perfect; a model that reads word order could: `--rnn` adds Embedding(200, 16) ->
Bidirectional(LSTM(16)) -> Dense(1, sigmoid), same recipe. By default the padding is a word like
any other (the average includes it and the LSTMs read it); `--mask` gives the Embedding
`mask_zero=True`, as Keras's text tutorials do, so the average runs over the real words, the
LSTMs skip the padding and the attention attends to real words only. As a reference, a logistic
regression on the bag-of-words counts (scikit-learn) is trained on the same split.

    python examples/text_embedding.py              # 5 runs, about 2 s each
    python examples/text_embedding.py --rnn        # and the bidirectional LSTM (about 10 s a run)
    python examples/text_embedding.py --attention  # and a transformer block, learned positions
    python examples/text_embedding.py --rnn --mask # padding masked (Embedding(mask_zero=True))
    python examples/text_embedding.py --negation 0   # no "not": counting words is the whole task
    python examples/text_embedding.py --seeds 1 --samples 1000
"""

import numpy as np
from _common import limit_threads, mean_std, pct, print_table, seeds_parser

import kerasette as ks

POSITIVE = ["good", "great", "superb", "lovely", "fun", "brilliant", "moving", "clever", "charming",
            "gripping", "funny", "beautiful"]
NEGATIVE = ["bad", "awful", "boring", "dull", "weak", "silly", "tedious", "clumsy", "flat", "messy",
            "bland", "painful"]
FILLER = ["not", "plot", "film", "actor", "scene", "story", "the", "a", "was", "and", "very"]
VOCABULARY = ["<pad>", "<unk>", *POSITIVE, *NEGATIVE, *FILLER,
              *(f"w{i}" for i in range(200 - 2 - len(POSITIVE) - len(NEGATIVE) - len(FILLER)))]
WORD_IDS = {word: i for i, word in enumerate(VOCABULARY)}
MAX_LENGTH = 20


def make_corpus(n: int, seed: int, negation: float = 0.3):
    """n reviews (lists of words) and their labels (1 positive, 0 negative), from `seed`.

    A review has `major` sentiment phrases of its label's polarity and fewer of the other; each
    phrase is a sentiment word, or with probability `negation` "not" and a word of the opposite
    polarity ("not boring" is positive). Filler words make up the rest, in random order.
    """
    rng = np.random.default_rng(seed)
    neutral = VOCABULARY[2 + len(POSITIVE) + len(NEGATIVE):]

    def phrase(positive: bool) -> list:
        if rng.random() < negation:
            positive, prefix = not positive, ["not"]
        else:
            prefix = []
        pool = POSITIVE if positive else NEGATIVE
        return prefix + [pool[int(rng.integers(len(pool)))]]

    texts, labels = [], []
    for _ in range(n):
        label = int(rng.integers(2))
        major = int(rng.integers(1, 4))                 # 1-3 phrases of the review's polarity
        minor = int(rng.integers(0, major))             # fewer of the other
        units = [phrase(bool(label)) for _ in range(major)]
        units += [phrase(not label) for _ in range(minor)]
        used = sum(len(u) for u in units)
        length = int(rng.integers(max(4, used), MAX_LENGTH + 1))
        units += [[neutral[int(i)]] for i in rng.integers(len(neutral), size=length - used)]
        texts.append([word for i in rng.permutation(len(units)) for word in units[i]])
        labels.append(label)
    return texts, np.array(labels, dtype=np.int64)


def encode(texts) -> np.ndarray:
    """Word ids, padded with 0 (and cut) to MAX_LENGTH; unknown words get id 1."""
    ids = np.zeros((len(texts), MAX_LENGTH), dtype=np.int64)
    for row, words in enumerate(texts):
        for col, word in enumerate(words[:MAX_LENGTH]):
            ids[row, col] = WORD_IDS.get(word, 1)
    return ids


class PositionEmbedding(ks.layers.Layer):
    """x + P: a learned vector per position (P: (steps, dim)), added to every review's words
    (the padding mask, if any, passes through)."""

    supports_masking = True

    def build(self, input_shape):
        self.positions = self.add_weight(shape=tuple(input_shape[1:]), initializer="zeros")

    def call(self, x):
        return x + self.positions


def attention_reader(x, dim: int):
    """One transformer encoder block: self-attention with a residual and LayerNormalization,
    then a position-wise Dense with another, then the average over the words."""
    x = PositionEmbedding()(x)
    x = ks.layers.LayerNormalization()(x + ks.layers.MultiHeadAttention(2, dim // 2)(x, x))
    x = ks.layers.LayerNormalization()(x + ks.layers.Dense(dim, activation="relu")(x))
    return ks.layers.GlobalAveragePooling1D()(x)


def text_model(embedding_dim: int = 16, learning_rate: float = 3e-3,
               reader: str = "average", mask: bool = False) -> ks.Model:
    """The bag of word vectors ("average"), or a reader of the order: a bidirectional LSTM
    ("rnn") or a transformer block ("attention"); `mask`: the padding masked."""
    if reader == "attention":
        ids = ks.Input(shape=(MAX_LENGTH,))
        x = attention_reader(ks.layers.Embedding(len(VOCABULARY), embedding_dim,
                                                 mask_zero=mask)(ids), embedding_dim)
        model = ks.Model(ids, ks.layers.Dense(1, activation="sigmoid")(x))
    else:
        middle = [ks.layers.Bidirectional(ks.layers.LSTM(16))] if reader == "rnn" else [
            ks.layers.GlobalAveragePooling1D(), ks.layers.Dense(16, activation="relu")]
        model = ks.Sequential([ks.Input(shape=(MAX_LENGTH,)),
                               ks.layers.Embedding(len(VOCABULARY), embedding_dim,
                                                   mask_zero=mask), *middle,
                               ks.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=ks.optimizers.Adam(learning_rate=learning_rate),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


def bag_of_words_baseline(x_train, y_train, x_test, y_test) -> float:
    """Test accuracy of a logistic regression on word counts (padding not counted)."""
    from sklearn.linear_model import LogisticRegression

    def counts(ids):
        out = np.zeros((len(ids), len(VOCABULARY)))
        np.add.at(out, (np.arange(len(ids))[:, None], ids), 1.0)
        out[:, 0] = 0
        return out
    clf = LogisticRegression(max_iter=2000).fit(counts(x_train), y_train)
    return float(clf.score(counts(x_test), y_test))


def parse_args(argv):
    parser = seeds_parser(__doc__, seeds=5, epochs=40, batch_size=32,
                          seeds_help="runs (corpus and weights seed s)",
                          epochs_help="at most; early stopping ends sooner")
    parser.add_argument("--samples", type=int, default=4000, help="reviews per run (75%% train)")
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--negation", type=float, default=0.3,
                        help="probability that a sentiment phrase is 'not' + the opposite word")
    parser.add_argument("--no-baseline", action="store_true", help="skip the scikit-learn baseline")
    parser.add_argument("--rnn", action="store_true",
                        help="also train Embedding + Bidirectional(LSTM(16)) + Dense")
    parser.add_argument("--mask", action="store_true",
                        help="Embedding(mask_zero=True): the readers skip the padding")
    parser.add_argument("--attention", action="store_true",
                        help="also train Embedding + a transformer block (MultiHeadAttention)")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.samples < 20 or not 0 <= args.negation <= 1:
        parser.error("--seeds must be >= 1, --samples >= 20 and --negation in [0, 1]")
    return args


def main(argv=None):
    """Train over the seeds and print the table; returns the list of run dicts."""
    args = parse_args(argv)
    limit_threads(args.threads)
    runs = []
    for seed in range(args.seeds):
        texts, labels = make_corpus(args.samples, seed, args.negation)
        ids = encode(texts)
        cut = args.samples * 3 // 4
        x_train, y_train, x_test, y_test = ids[:cut], labels[:cut], ids[cut:], labels[cut:]
        run = {}
        readers = [("test", "average")] + ([("rnn", "rnn")] if args.rnn else []) + (
            [("attention", "attention")] if args.attention else [])
        for key, reader in readers:
            ks.utils.set_random_seed(seed)
            model = text_model(reader=reader, mask=args.mask)
            stop = ks.callbacks.EarlyStopping(monitor="val_loss", patience=args.patience,
                                              restore_best_weights=True)
            history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                                validation_split=0.2, callbacks=[stop], verbose=0)
            run[key] = float(model.evaluate(x_test, y_test, verbose=0)[1])
            run["epochs" if key == "test" else f"{key}_epochs"] = len(history.epoch)
        run["baseline"] = None if args.no_baseline else bag_of_words_baseline(
            x_train, y_train, x_test, y_test)
        runs.append(run)
    rows = []
    for key, epochs, label in [("test", "epochs", "Embedding(200, 16) + GlobalAveragePooling1D + "
                                "Dense"),
                               ("rnn", "rnn_epochs", "Embedding(200, 16) + Bidirectional(LSTM(16))"),
                               ("attention", "attention_epochs",
                                "Embedding(200, 16) + positions + transformer block")]:
        if key in runs[0]:
            mean, std = mean_std(r[key] for r in runs)
            rows.append([label, pct(mean, std), pct(min(r[key] for r in runs)),
                         f"{mean_std(r[epochs] for r in runs)[0]:.0f}"])
    if not args.no_baseline:
        b_mean, b_std = mean_std(r["baseline"] for r in runs)
        rows.append(["logistic regression on word counts (scikit-learn)", pct(b_mean, b_std),
                     pct(min(r["baseline"] for r in runs)), "-"])
    print(f"Generated reviews: {args.samples} per run, 75/25 train/test, negation "
          f"{args.negation}, {args.seeds} runs (corpus and weights seeded by the run number)")
    print_table(["model", "test accuracy", "worst run", "epochs run"], rows)
    return runs


if __name__ == "__main__":
    main()

"""Byte-level BPE tokenizer of dlens-tiny (Hugging Face tokenizers), digits split one by one so arithmetic
and sorting see every digit. Special tokens take the first ids."""
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers

SPECIALS = ['<|eos|>', '<|mask|>', '<|user|>', '<|assistant|>']
TEMPLATE = '<|user|>{prompt}<|assistant|>'


def train_tokenizer(texts, vocab_size=4096):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    return tok

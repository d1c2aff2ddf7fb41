"""Hugging Face Trainer: a 2-layer BERT built from a config (no download) learns a generated token task (does
token 7 occur in the sequence?), recorded by EpochScope's callback: each encoder layer's token outputs, averaged
over the real (unpadded) tokens.

    python examples/huggingface_bert.py [--epochs 6] [--every-n-steps N] [--logdir runs]
    epochscope serve --logdir runs
"""

from __future__ import annotations

import argparse
import logging

import torch
import torch.nn.functional as F
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

from epochscope.callbacks.huggingface import EpochScopeCallback


def token_task(n: int, tokens: int = 16, seed: int = 0, real: int = 10) -> dict[str, torch.Tensor]:
    """A tokenizer's batch of generated sequences (ids 8..29, 0 for padding): label 1 when token 7 occurs (placed
    among the first ``real`` tokens); every other sequence padded after ``real`` tokens."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(8, 30, (n, tokens), generator=g)
    labels = torch.arange(n) % 2
    place = torch.randint(1, real, (n,), generator=g)
    ids[labels == 1, place[labels == 1]] = 7
    mask = torch.ones(n, tokens, dtype=torch.long)
    mask[::2, real:] = 0
    ids[mask == 0] = 0
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=6, help="epochs, 1..100 (default %(default)s)")
    parser.add_argument("--every-n-steps", type=int, default=None, help="record every N steps instead of each epoch")
    parser.add_argument("--logdir", default="runs", help="log directory (default %(default)s)")
    parser.add_argument("--output-dir", default="hf-output", help="the Trainer's output_dir (default %(default)s)")
    args = parser.parse_args(argv)
    if not 1 <= args.epochs <= 100:
        parser.error(f"argument --epochs: must be in 1..100, got {args.epochs}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=32, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=32)
    config.num_labels = 2
    model = BertForSequenceClassification(config)
    train = token_task(512)
    dataset = [{k: v[i] for k, v in train.items()} for i in range(512)]
    callback = EpochScopeCallback(args.logdir, ["bert.encoder.layer.0", "bert.encoder.layer.1"],
                                  token_task(200, seed=1), name="bert-token-task", every_n_steps=args.every_n_steps,
                                  class_names=["no 7", "has 7"],
                                  loss_fn=lambda out, y: F.cross_entropy(out, y, reduction="none"))
    training = TrainingArguments(output_dir=args.output_dir, num_train_epochs=args.epochs, learning_rate=2e-3,
                                 per_device_train_batch_size=32, logging_steps=8, save_strategy="no", report_to=[],
                                 disable_tqdm=True, seed=0)
    Trainer(model=model, args=training, train_dataset=dataset, callbacks=[callback]).train()
    assert callback.recorder is not None
    print(callback.recorder.path)
    return str(callback.recorder.path)


if __name__ == "__main__":
    main()

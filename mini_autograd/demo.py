"""The main job: train an MLP on the 8x8 digits with mini_autograd and draw a computation graph.

    python -m mini_autograd.demo [--epochs 20] [--out outputs]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

import mini_autograd as ag
from mini_autograd.training import accuracy, train_classifier


def lecture_example_graph():
    """f(x) = sqrt(x^2 + exp(x^2)) + cos(x^2 + exp(x^2)) at x = 1, after a backward pass."""
    x = ag.Variable(1.0, name="x")
    a = x**2
    a.name = "a = x^2"
    b = ag.exp(a)
    b.name = "b = exp(a)"
    c = a + b
    c.name = "c = a + b"
    d = ag.sqrt(c)
    d.name = "d = sqrt(c)"
    e = ag.cos(c)
    e.name = "e = cos(c)"
    f = d + e
    f.name = "f = d + e"
    f.backward()
    return f, c


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 64], help="hidden layer sizes (default 128 64)")
    parser.add_argument("--lr", type=float, default=0.05, help="learning rate (default 0.05)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, default=Path("outputs"), help="output folder (default outputs/)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    if not args.lr > 0:
        parser.error(f"--lr must be positive, got {args.lr}")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"cannot create the output folder {args.out}: {error}")

    X, y = ag.data.load_digits()
    X_train, X_test, y_train, y_test = ag.data.train_test_split(X, y, test_fraction=0.25, seed=args.seed)
    sizes = [X.shape[1], *args.hidden, 10]
    model = ag.nn.MLP(sizes, rng=args.seed)
    optimizer = ag.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4)
    print(f"Training an MLP {'-'.join(map(str, sizes))} ({model.num_parameters():,} parameters) on "
          f"{len(X_train)} digits, testing on {len(X_test)}")

    def report(epoch, mean_loss):
        print(f"  epoch {epoch + 1:3d}/{args.epochs}  loss {mean_loss:.4f}  test accuracy {accuracy(model, X_test, y_test):.3f}")

    start = time.perf_counter()
    history = train_classifier(model, optimizer, X_train, y_train, args.epochs, batch_size=32, seed=args.seed, on_epoch=report)
    seconds = time.perf_counter() - start
    test_accuracy = accuracy(model, X_test, y_test)
    print(f"Test accuracy {test_accuracy:.3f} after {args.epochs} epochs ({seconds:.1f} s)")

    f, c = lecture_example_graph()
    graph = ag.draw(f, highlight=[c])
    (args.out / "lecture_example.dot").write_text(graph.source)
    drawings = [args.out / "lecture_example.dot"]
    if shutil.which("dot"):
        graph.render(args.out / "lecture_example", format="svg", cleanup=True)
        drawings.append(args.out / "lecture_example.svg")
    else:
        print("Graphviz's dot was not found, so only the DOT source was written; install it with apt-get install graphviz.")
    summary = {"sizes": sizes, "epochs": args.epochs, "loss_per_epoch": history,
               "test_accuracy": test_accuracy, "seconds": seconds}
    (args.out / "training.json").write_text(json.dumps(summary, indent=2))
    print("Wrote " + ", ".join(str(p) for p in drawings + [args.out / "training.json"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""TensorBoard event-file fixtures and checks, against the `tensorboard` package's own code.

Setup: pip install tensorboard torch==2.13.0+cpu pillow numpy

  python3 Scripts/fixtures_tensorboard.py
      Writes Tests/SynTensorTests/Fixtures/tensorboard_reference.tfevents with TensorBoard's
      RecordWriter and the summaries of torch.utils.tensorboard (scalars, an image, a text) at
      fixed wall times, and tensorboard_reference.json saying what it holds. The Swift tests read
      it back and re-encode it with SynTensor's writer byte for byte. Committed; CI never runs this.

  python3 Scripts/fixtures_tensorboard.py --check RUN_FOLDER [--expect-tag TAG ...]
      Loads every event file under RUN_FOLDER with TensorBoard's EventAccumulator (what
      `tensorboard --logdir` uses), prints the tags per run, and fails if a run has duplicate
      steps for a scalar tag, if a record is corrupt, or if an expected tag is missing.
"""
import argparse
import json
import os
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "SynTensorTests", "Fixtures")


def write_reference():
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.summary.writer.record_writer import RecordWriter
    from torch.utils.tensorboard import summary

    image = np.array(
        [[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]],
         [[0, 0, 0], [255, 255, 255], [128, 64, 32], [1, 2, 3]],
         [[9, 8, 7], [200, 100, 50], [33, 66, 99], [250, 251, 252]]], dtype=np.uint8)  # H=3, W=4, C=3
    events = [
        Event(wall_time=1700000000.0, step=0, file_version="brain.Event:2"),
        Event(wall_time=1700000001.25, step=0, summary=summary.text("config", "steps: 10\nlr: 0.001")),
        Event(wall_time=1700000002.5, step=0, summary=summary.scalar("loss/total", 4.25)),
        Event(wall_time=1700000003.0, step=7, summary=summary.scalar("loss/total", 0.0)),
        Event(wall_time=1700000004.0, step=123456789, summary=summary.scalar("lr", -3.5e-4)),
        Event(wall_time=1700000005.5, step=2, summary=summary.image("views", image, dataformats="HWC")),
    ]
    path = os.path.join(OUT, "tensorboard_reference.tfevents")
    with open(path, "wb") as f:
        w = RecordWriter(f)
        for e in events:
            w.write(e.SerializeToString())
    expected = {
        "events": [
            {"wall_time": 1700000000.0, "step": 0, "file_version": "brain.Event:2"},
            {"wall_time": 1700000001.25, "step": 0, "tag": "config/text_summary", "text": "steps: 10\nlr: 0.001"},
            {"wall_time": 1700000002.5, "step": 0, "tag": "loss/total", "scalar": 4.25},
            {"wall_time": 1700000003.0, "step": 7, "tag": "loss/total", "scalar": 0.0},
            {"wall_time": 1700000004.0, "step": 123456789, "tag": "lr", "scalar": float(np.float32(-3.5e-4))},
            {"wall_time": 1700000005.5, "step": 2, "tag": "views", "image_hwc": image.tolist()},
        ]
    }
    with open(os.path.join(OUT, "tensorboard_reference.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print("wrote", path)


def check(folder, expect_tags):
    from tensorboard.backend.event_processing import event_accumulator, event_multiplexer

    mux = event_multiplexer.EventMultiplexer(size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    mux.AddRunsFromDirectory(folder)
    mux.Reload()
    runs = mux.Runs()
    if not runs:
        sys.exit(f"no TensorBoard runs under {folder}")
    seen = set()
    for run, tags in sorted(runs.items()):
        acc = mux.GetAccumulator(run)
        scalars = tags.get(event_accumulator.SCALARS, [])
        images = tags.get(event_accumulator.IMAGES, [])
        tensors = tags.get(event_accumulator.TENSORS, [])
        print(f"{run}: {len(scalars)} scalar tags, {len(images)} image tags, {len(tensors)} text/tensor tags")
        for tag in scalars:
            steps = [e.step for e in acc.Scalars(tag)]
            if len(steps) != len(set(steps)):
                sys.exit(f"{run}: scalar {tag} has duplicate steps")
            print(f"  {tag}: {len(steps)} points, steps {steps[0]}..{steps[-1]}, last {acc.Scalars(tag)[-1].value:.5g}")
        for tag in images:
            ims = acc.Images(tag)
            print(f"  image {tag}: {len(ims)} at steps {[i.step for i in ims]}, {ims[-1].width}x{ims[-1].height}")
        for tag in tensors:
            print(f"  text {tag}: {len(acc.Tensors(tag))} entries")
        seen.update(scalars + images + tensors)
    missing = [t for t in expect_tags if t not in seen]
    if missing:
        sys.exit(f"missing tags: {missing}")
    print("ok")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--check")
    p.add_argument("--expect-tag", action="append", default=[])
    a = p.parse_args()
    if a.check:
        check(a.check, a.expect_tag)
    else:
        write_reference()

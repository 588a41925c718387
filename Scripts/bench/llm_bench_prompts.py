"""The caption prompts of the LLM benchmark; Sources/synclr-bench/LLMBench.swift builds the same."""

HEADER = "Generate an image description with an object category:"
EXAMPLES = [
    "red fox => a red fox trotting across a snowy meadow at dawn",
    "teapot => a porcelain teapot on a wooden table next to a cup of tea",
    "lighthouse => a white lighthouse on a rocky cliff under a stormy sky",
    "bicycle => a green bicycle leaning against a brick wall in a narrow alley",
    "owl => a barn owl perched on a fence post at dusk",
    "sailboat => a small sailboat gliding across a calm blue bay",
]
CONCEPTS = [
    "goldfish", "tabby cat", "sneaker", "hot air balloon", "espresso machine", "zebra", "umbrella", "violin",
    "pizza", "tractor", "jellyfish", "backpack", "castle", "sunflower", "school bus", "penguin",
    "desk lamp", "strawberry", "canoe", "golden retriever", "wristwatch", "cactus", "fire truck", "butterfly",
    "grand piano", "lemon", "tent", "koala", "typewriter", "submarine", "pretzel", "snowman",
]


def caption_prompts(n):
    out = []
    for i in range(n):
        ex = [EXAMPLES[(i + k) % len(EXAMPLES)] for k in range(3)]
        out.append("\n".join([HEADER] + ex + [f"{CONCEPTS[i % len(CONCEPTS)]} =>"]))
    return out

// Hand-written phrase tables for the template backend. They make grammatical, varied captions
// without any model; they know nothing about the concept beyond a few keyword families.

enum TemplatePhrases {
    static let shots = ["a close-up photo", "a wide shot", "a candid snapshot", "a detailed photograph", "an overhead view",
                        "a low-angle shot", "a vintage film photo", "a sharp macro shot", "a documentary-style photo",
                        "a side view", "a softly focused picture", "a high-contrast black and white photo"]
    static let adjectives = ["small", "large", "weathered", "brightly colored", "well-worn", "brand-new", "dusty", "gleaming",
                             "old", "tiny", "striking", "muddy", "freshly cleaned", "faded", "vivid", "elegant", "sturdy",
                             "slightly worn", "polished", "ordinary"]
    static let poses = ["sitting", "resting", "on display", "set down", "waiting", "standing out", "lying", "placed neatly",
                        "caught mid-motion", "half in shadow"]
    static let places = ["on a wooden table", "in a sunlit room", "on a city sidewalk", "in a quiet garden", "against a white wall",
                         "on a kitchen counter", "in a grassy field", "by a rain-streaked window", "on a store shelf",
                         "in a busy market", "near a lake shore", "on a stone step", "in a cluttered workshop",
                         "at the edge of a forest", "on a flat rooftop", "in a museum display case", "on a sandy beach",
                         "in a snowy yard", "beside a park bench", "in a backyard", "under a leafy tree", "on a checkered blanket",
                         "in a cozy living room", "in a studio against a gray backdrop", "next to a brick wall",
                         "on a rustic porch", "in a dim hallway", "at a farmers market", "on a mossy rock", "in the rain",
                         "on a dusty road", "inside a glass greenhouse", "on a wooden dock", "in a school classroom",
                         "on a mountain trail", "at a train station", "in a small shop window", "on a hotel balcony",
                         "in a parking lot", "on a gravel driveway"]
    static let lights = ["in soft morning light", "under overcast skies", "at golden hour", "lit by warm lamplight",
                         "in harsh midday sun", "in blue twilight", "under bright studio lights", "with a blurred background",
                         "in shallow depth of field", "on a foggy morning", "just after a light rain", "at dusk",
                         "in dappled shade", "under a clear blue sky", "in the glow of neon signs", "on a crisp winter day"]
    static let companions = ["a potted plant", "a stack of books", "a wooden crate", "a coffee cup", "a woven basket",
                             "a bicycle", "a folded newspaper", "a ceramic vase", "a pair of gloves", "a red ball",
                             "a lantern", "a wicker chair", "a garden hose", "a backpack", "a straw hat", "a stone wall",
                             "a picket fence", "a parked car", "a wooden bench", "a glass jar"]
    /// Second objects that suit a relation word (others use `companions`).
    static let relationCompanions: [String: [String]] = [
        "in": ["a wooden crate", "a woven basket", "a cardboard box", "a glass display case", "a shopping bag", "a tin bucket"],
        "on": ["a wooden bench", "a stone wall", "a picnic table", "a windowsill", "a stack of books", "a wooden pallet"],
        "over": ["a small pond", "a picket fence", "a parked car", "a flower bed", "a wooden bench"],
        "above": ["a small pond", "a picket fence", "a parked car", "a flower bed", "a kitchen sink"],
        "under": ["a wooden bench", "a leafy tree", "a picnic table", "a striped umbrella", "a stone bridge"],
        "below": ["a wooden shelf", "a leafy tree", "a striped awning", "a hanging lamp", "a window"],
    ]
    static let sceneAdjectives = ["quiet", "crowded", "empty", "sunlit", "old", "modern", "busy", "deserted", "rustic",
                                  "spacious", "tidy", "run-down", "peaceful", "colorful"]
    static let sceneTimes = ["early in the morning", "at noon", "in the late afternoon", "at sunset", "at night",
                             "on a rainy day", "in midwinter", "on a hazy summer day", "just before dawn", "on a windy autumn day"]
    static let sceneDetails = ["with a few people passing through", "with nobody around", "full of people",
                               "with long shadows across the ground", "seen from a high vantage point", "with puddles reflecting the sky",
                               "with lights glowing warmly", "with a single figure in the distance", "under heavy gray clouds",
                               "with fresh snow on every surface"]
    static let materials = ["fabric", "stone", "ceramic", "wooden", "metal", "paper", "leather", "glass", "plastic", "wool",
                            "concrete", "silk"]
    static let textureThings = ["cushion", "wall", "vase", "floor tile", "tablecloth", "handbag", "blanket", "tree trunk",
                                "notebook cover", "lampshade", "scarf", "bowl"]

    /// Keyword families -> plausible environments (used only for the backgrounds command).
    static let environmentFamilies: [(keywords: [String], environments: [String])] = [
        (["fish", "shark", "whale", "dolphin", "seal", "crab", "lobster", "jellyfish", "eel", "octopus", "coral", "turtle",
          "ray", "squid", "starfish", "urchin", "otter"],
         ["coral reef", "open ocean", "aquarium tank", "rocky shoreline", "harbor water", "kelp forest", "tide pool", "sandy sea floor"]),
        (["aircraft", "airplane", "airliner", "jet", "plane", "helicopter", "glider", "airship"],
         ["airport runway", "aircraft hangar", "cloudy sky", "airshow field", "aviation museum", "mountain valley from above", "airport apron at dusk"]),
        (["boat", "ship", "canoe", "kayak", "yacht", "schooner", "ferry", "liner", "gondola", "raft"],
         ["marina", "open sea", "busy harbor", "river bank", "calm lake", "dry dock", "foggy bay"]),
        (["car", "truck", "bus", "van", "jeep", "limousine", "taxi", "tractor", "suv", "sedan", "coupe", "convertible",
          "hatchback", "wagon", "minivan", "cab"],
         ["city street", "parking lot", "country road", "car dealership showroom", "suburban driveway", "highway at dusk",
          "gas station", "mountain pass road", "rainy downtown avenue"]),
        (["bicycle", "bike", "motorcycle", "scooter", "tricycle", "unicycle", "moped"],
         ["city bike lane", "park path", "garage", "mountain trail", "cobblestone street", "beach boardwalk"]),
        (["train", "locomotive", "tram", "streetcar", "subway"],
         ["train station platform", "countryside railway", "mountain viaduct", "rail yard", "snowy plain"]),
        (["bird", "owl", "eagle", "hawk", "duck", "goose", "heron", "parrot", "finch", "sparrow", "gull", "swan", "penguin",
          "crow", "robin", "pigeon", "dove", "macaw", "kingfisher", "woodpecker", "flamingo", "hen", "rooster", "ostrich",
          "pelican", "stork", "crane", "warbler", "jay", "magpie", "hummingbird", "cockatoo", "vulture", "falcon", "kite"],
         ["tree branch", "lake shore", "backyard feeder", "marsh reeds", "open sky", "park lawn", "rocky cliff", "farmyard"]),
        (["dog", "terrier", "retriever", "spaniel", "hound", "poodle", "puppy", "collie", "shepherd", "bulldog", "beagle",
          "pug", "chihuahua", "setter", "pointer", "husky", "mastiff", "schnauzer", "corgi", "dachshund", "boxer", "samoyed",
          "pinscher", "pomeranian", "newfoundland", "leonberger", "keeshond", "havanese", "bernard", "shiba", "pyrenees"],
         ["living room sofa", "backyard lawn", "park path", "sunny porch", "kitchen floor", "sandy beach", "snowy field", "forest trail"]),
        (["cat", "kitten", "tabby", "siamese", "persian", "bengal", "ragdoll", "sphynx", "birman", "bombay", "abyssinian",
          "mau", "coon", "shorthair", "russian blue"],
         ["sunny windowsill", "living room sofa", "garden wall", "bookshelf top", "kitchen floor", "cardboard box", "bed quilt"]),
        (["butterfly", "moth", "beetle", "ant", "bee", "wasp", "fly", "spider", "dragonfly", "grasshopper", "cricket",
          "ladybug", "caterpillar", "mantis", "cicada", "weevil", "tick", "mayfly", "scorpion"],
         ["garden leaf", "flower blossom", "forest floor", "tree bark", "windowsill", "meadow grass", "stone wall"]),
        (["snake", "python", "boa", "viper", "cobra", "lizard", "gecko", "iguana", "chameleon", "crocodile", "alligator",
          "tortoise", "frog", "toad", "salamander", "newt", "monitor", "skink", "anaconda", "rattlesnake"],
         ["sunny rock", "rainforest floor", "river bank", "terrarium", "desert sand", "swamp edge", "leaf litter"]),
        (["bear", "lion", "tiger", "wolf", "fox", "deer", "elephant", "zebra", "monkey", "ape", "gorilla", "giraffe", "horse",
          "cow", "sheep", "goat", "pig", "rabbit", "squirrel", "mouse", "rat", "hedgehog", "leopard", "cheetah", "panda",
          "kangaroo", "koala", "camel", "llama", "bison", "buffalo", "moose", "boar", "raccoon", "badger", "beaver", "bat",
          "hippopotamus", "rhinoceros", "antelope", "gazelle", "okapi", "gerenuk", "platypus", "lemur", "sloth", "otter"],
         ["forest clearing", "savanna", "zoo enclosure", "mountain meadow", "river bank", "farm pasture", "snowy woods"]),

        (["flower", "lily", "orchid", "rose", "daisy", "tulip", "poppy", "iris", "lotus", "sunflower", "primrose", "marigold",
          "thistle", "protea", "snapdragon", "dahlia", "magnolia", "camellia", "hibiscus", "petunia", "geranium", "clematis",
          "anemone", "foxglove", "bellflower", "pansy", "carnation", "peony", "azalea", "lilly", "bells"],
         ["flower garden", "wildflower meadow", "greenhouse", "vase on a dining table", "florist shop", "park flowerbed", "country roadside"]),
        (["tree", "plant", "fern", "cactus", "bonsai", "moss", "palm", "shrub", "bush", "vine", "grass", "mushroom", "fungus"],
         ["forest", "botanical garden", "backyard", "windowsill pot", "hillside", "greenhouse", "park"]),
        (["shirt", "dress", "coat", "trouser", "pullover", "sweater", "sneaker", "boot", "sandal", "bag", "hat", "sock",
          "jacket", "skirt", "scarf", "glove", "shoe", "t-shirt", "jeans", "cardigan", "blouse", "suit", "tie", "cap"],
         ["clothing store rack", "bedroom closet", "city sidewalk", "laundry line", "shop window display", "fitting room", "hallway coat hook"]),
        (["pie", "cake", "soup", "salad", "bread", "sushi", "pizza", "burger", "hamburger", "steak", "noodle", "rice", "taco",
          "sandwich", "curry", "fries", "dumpling", "waffle", "pancake", "cheese", "ice cream", "donut", "doughnut", "omelette",
          "pasta", "spaghetti", "ramen", "pho", "sashimi", "tartare", "carpaccio", "ribs", "chicken", "wings", "shrimp",
          "oyster", "mussel", "scallop", "crepe", "churro", "baklava", "cannoli", "tiramisu", "macaron", "muffin", "toast",
          "bagel", "croissant", "pretzel", "fruit", "apple", "banana", "orange", "lemon", "strawberry", "grape", "melon",
          "bibimbap", "beignet", "bruschetta", "ceviche", "falafel", "guacamole", "hummus", "nachos", "paella", "risotto",
          "samosa", "tacos", "gyoza", "edamame", "poutine", "lasagna", "gnocchi", "mousse", "pudding", "cupcake", "tart"],
         ["restaurant table", "kitchen counter", "picnic blanket", "cafe table", "market stall", "family dinner table", "food truck window"]),
    ]

    /// Environments for any concept no family matches.
    static let defaultEnvironments = ["wooden table", "living room", "workshop bench", "store shelf", "garden", "city street",
                                      "museum display", "kitchen", "office desk", "garage", "attic", "market stall"]
}

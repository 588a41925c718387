// In-context examples for the backgrounds command: an object and places it is plausibly seen in.

extension ExamplePools {
    /// 24 concept -> environments examples.
    static let builtinEnvironments: [EnvironmentExample] = [
        .init("golden retriever", ["suburban backyard", "sandy beach", "living room rug", "park lawn", "forest trail", "snowy field"]),
        .init("espresso machine", ["cafe counter", "home kitchen", "office break room", "hotel breakfast bar", "coffee roastery"]),
        .init("kayak", ["calm mountain lake", "river rapids", "rocky sea cove", "boathouse dock", "rooftop rack of a car"]),
        .init("heron", ["misty marsh", "river bank", "rice paddy", "city canal", "mangrove swamp"]),
        .init("laptop", ["home office desk", "coffee shop table", "airport lounge", "university library", "train seat tray"]),
        .init("cactus", ["sunny windowsill", "desert valley", "botanical greenhouse", "terracotta courtyard", "rocky canyon"]),
        .init("fire truck", ["fire station garage", "city intersection", "burning warehouse", "parade route", "highway shoulder"]),
        .init("penguin", ["icy shoreline", "zoo enclosure", "snowy rookery", "rocky beach", "floating iceberg"]),
        .init("violin", ["concert hall stage", "music shop wall", "practice room", "street corner", "orchestra pit"]),
        .init("croissant", ["bakery display case", "cafe table", "hotel breakfast buffet", "picnic blanket", "kitchen counter"]),
        .init("camel", ["sand dunes", "desert oasis", "dusty market", "zoo paddock", "rocky plateau"]),
        .init("sailboat", ["marina", "open ocean", "quiet bay", "lake at sunset", "dry dock"]),
        .init("owl", ["old barn rafters", "pine forest", "snowy field", "hollow oak tree", "moonlit churchyard"]),
        .init("tractor", ["wheat field", "muddy farmyard", "country road", "orchard", "barn shed"]),
        .init("sushi", ["sushi bar counter", "bento box at a desk", "conveyor belt restaurant", "market food stall", "picnic table"]),
        .init("hummingbird", ["flower garden", "backyard feeder", "tropical forest", "desert blossom", "balcony planter"]),
        .init("wristwatch", ["jewelry store display", "office desk", "bedside table", "beach towel", "gift box"]),
        .init("scooter", ["narrow city street", "seaside promenade", "school entrance", "parking lot", "garage"]),
        .init("jellyfish", ["aquarium tank", "open ocean", "harbor water", "sandy shore", "coral reef"]),
        .init("grand piano", ["concert stage", "hotel lobby", "conservatory room", "wedding reception hall", "living room"]),
        .init("squirrel", ["park bench", "oak tree trunk", "backyard fence", "autumn forest floor", "college campus lawn"]),
        .init("bulldozer", ["construction site", "gravel quarry", "landfill", "snowy road", "desert highway project"]),
        .init("teddy bear", ["child's bed", "toy store shelf", "carnival prize booth", "attic box", "nursery armchair"]),
        .init("lobster", ["fishing trap on a dock", "seafood restaurant plate", "rocky sea floor", "market ice display", "boat deck"]),
    ]
}

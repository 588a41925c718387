// In-context examples for the concept -> caption mode with texture concepts.

extension ExamplePools {
    /// 23 texture examples (the paper used 21).
    static let builtinTextures: [CaptionExample] = [
        .init("cracked", "cracked dry mud in a riverbed, split into irregular plates by the summer sun"),
        .init("knitted", "a close-up of a chunky knitted wool scarf in cream and gray"),
        .init("marbled", "a polished slab of white marble with thin gray veins running across it"),
        .init("honeycombed", "a honeycomb of hexagonal wax cells, some of them filled with glistening honey"),
        .init("striped", "a deck chair with faded navy and white striped canvas"),
        .init("polka-dotted", "a red dress with white polka dots laid flat on a bed"),
        .init("woven", "a tightly woven reed basket seen up close, every strand visible"),
        .init("scaly", "the scaly skin of a green iguana in sharp detail"),
        .init("bubbly", "a glass of sparkling water crowded with rising bubbles"),
        .init("wrinkled", "a wrinkled linen shirt bunched up on an unmade bed"),
        .init("braided", "a thick braided rope coiled on the wooden deck of a sailboat"),
        .init("porous", "a chunk of porous volcanic rock covered in tiny holes"),
        .init("zigzagged", "black and yellow tiles laid in a zigzag pattern across a hallway floor"),
        .init("frilly", "the frilly edge of a pink petticoat in soft window light"),
        .init("grooved", "a vinyl record spinning on a turntable, light catching the fine grooves"),
        .init("veined", "a green leaf held up to the sun, its network of veins glowing through"),
        .init("crystalline", "crystalline quartz clusters sparkling on a dark velvet cloth"),
        .init("paisley", "a silk tie printed with swirling red and gold paisley shapes"),
        .init("cobwebbed", "a cobwebbed corner of an old attic, dust caught in the threads"),
        .init("fibrous", "the fibrous husk of a coconut torn open to show coarse brown strands"),
        .init("chequered", "a red and white chequered picnic blanket spread out on the grass"),
        .init("perforated", "a perforated steel sheet with rows of tiny round holes, lit from behind"),
        .init("stratified", "a cliff face of stratified sandstone in bands of rust, cream and ochre"),
    ]
}

// In-context examples for the concept + relation -> caption mode (each of the ten relations twice).

extension ExamplePools {
    /// 22 concept+relation examples (the paper used 20).
    static let builtinRelations: [CaptionExample] = [
        .init("goldfish", "in", "a goldfish in a round glass bowl on a kitchen windowsill"),
        .init("kitten", "in", "a gray kitten peeking out from inside a cardboard box"),
        .init("laptop", "on", "a laptop on a picnic table under the shade of an oak tree"),
        .init("ladybug", "on", "a ladybug on the tip of a blade of grass, backlit by the sun"),
        .init("bicycle", "next to", "a red bicycle next to a blue front door with potted geraniums"),
        .init("dog", "next to", "a sleepy beagle lying next to a crackling fireplace"),
        .init("deer", "behind", "a young deer half hidden behind a birch tree in the woods"),
        .init("moon", "behind", "a full moon rising behind the silhouette of a church steeple"),
        .init("taxi", "in front of", "a yellow taxi waiting in front of a grand hotel entrance in the rain"),
        .init("child's tricycle", "in front of", "a child's tricycle in front of a white picket fence"),
        .init("eagle", "over", "a bald eagle soaring over a river valley with its wings fully spread"),
        .init("rainbow", "over", "a rainbow arching over a green farm after a storm"),
        .init("cat", "under", "a black cat sheltering under a parked car on a wet street"),
        .init("mushroom", "under", "a small red mushroom growing under a fern on the forest floor"),
        .init("drone", "above", "a white drone hovering above a crowded beach"),
        .init("kite", "above", "a diamond-shaped kite flying high above a grassy hill"),
        .init("stream", "below", "a clear stream running below a moss-covered stone bridge"),
        .init("village", "below", "a small village nestled in the valley below snowy peaks"),
        .init("lantern", "besides", "a paper lantern hanging besides a wooden door at a teahouse"),
        .init("surfboard", "besides", "a surfboard standing upright in the sand besides a beach hut"),
        .init("owl", "on", "a snowy owl on a fence post in a frozen field"),
        .init("ship", "under", "a container ship passing under a huge suspension bridge at dusk"),
    ]
}

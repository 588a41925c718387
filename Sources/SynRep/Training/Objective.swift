/// The training objectives the paper compares, all in one trainer.
public enum Objective: String, Codable, Sendable, CaseIterable {
    /// SynCLR: multi-positive contrastive with an EMA teacher over global + local crops, plus iBOT.
    case synclr
    /// StableRep: multi-positive contrastive within the batch, no teacher, no iBOT, no local crops.
    case stablerep
    /// SimCLR: every image its own class (two views per image), same contrastive loss.
    case simclr
    /// Cross-entropy on concept / class labels with a linear classifier on the CLS token.
    case supervised
}

import DistillWatchCore

/// Answers for simulated exchanges, from the same word lists as ``PromptGrammar`` (no
/// third-party text): an opening that restates the ask, numbered steps built from the
/// task's vocabulary, code for coding tasks, and a closing. What is asked (`task`) fixes the
/// subject matter, so two answers to one task share words; `seed` fixes this answer's
/// wording, so each answer served is its own text, as a model's sampled answers are.
///
/// Provenance (Documentation/Provenance.md) is tested on these answers: a campaign's
/// harvested answers reappear, cut or partly paraphrased, in a "published" dataset
/// (``PublishedDataset``).
/// - Complexity: O(words).
public enum ResponseGrammar {
    /// An answer of about `words` words (at least 20) to a prompt of `kind` on `task`.
    public static func answer(_ kind: TaskKind, task: UInt64, seed: UInt64, words: Int) -> String {
        var t = SplitMix64(seed: task ^ 0xA45E)
        var w = SplitMix64(seed: seed)
        let target = max(20, words)
        var out: [String] = []
        var count = 0
        func add(_ sentence: String) {
            out.append(sentence)
            count += sentence.split(separator: " ").count
        }
        let subject = subjectWords(kind, &t)
        add(w.pick(openings) + " " + subject.joined(separator: " ") + ".")
        var step = 1
        while count < target {
            let noun = w.pick(subject)
            let other = w.pick(PromptGrammar.identifiers) + w.pick(PromptGrammar.identifierSuffixes)
            let thing = w.pick(contentWords), thing2 = w.pick(contentWords), thing3 = w.pick(contentWords)
            let number = w.int(in: 2...99_999)
            let sentence: String
            switch w.below(12) {
            case 0: sentence = "Step \(step): \(w.pick(verbs)) \(thing) into \(other) and keep \(thing2) under \(number)."
            case 1: sentence = "\(noun.capitalizedFirst) \(w.pick(relations)) \(thing), which leaves \(number) \(w.pick(units)) of \(thing2)."
            case 2: sentence = "Watch the \(w.pick(PromptGrammar.edgeCases)) \(thing) \(w.pick(units)): \(other) \(w.pick(relations)) \(thing3)."
            case 3 where kind == .codingQuestion || kind == .agentStep || kind == .benchmarkCoding || kind == .harnessTask:
                sentence = "```\(w.pick(PromptGrammar.snippetLanguages).lowercased())\nfunc \(other)(\(w.pick(PromptGrammar.variableNames)): [\(w.pick(PromptGrammar.typeNames))]) -> Int {\n  \(w.pick(PromptGrammar.variableNames)).filter { $0.\(w.pick(PromptGrammar.fieldNames)) > \(number) }.count + \(w.int(in: 1...97))\n}\n```"
            case 4: sentence = "With \(number) \(thing) and \(w.int(in: 2...999)) \(thing2), the \(noun) comes to \(number * w.int(in: 2...9))."
            case 5: sentence = "\(w.pick(PromptGrammar.personNames)) would \(w.pick(verbs)) \(thing) first, since \(thing2) \(w.pick(relations)) \(noun)."
            case 6: sentence = "(\(step)) \(w.pick(verbs).capitalizedFirst) \(w.pick(PromptGrammar.typeNames)) \(thing) by \(w.pick(PromptGrammar.fieldNames)); \(thing2) stays \(w.pick(PromptGrammar.adjectives))."
            case 7: sentence = "A common mistake is \(w.pick(PromptGrammar.compilerErrors)) around \(other), fixed by \(w.pick(verbs))ing \(thing3)."
            case 8: sentence = "\(thing.capitalizedFirst), \(thing2) and \(thing3) together \(w.pick(relations)) \(number)."
            case 9: sentence = "In \(w.pick(PromptGrammar.towns)) terms: \(w.pick(PromptGrammar.pluralNouns)) \(w.pick(verbs)) \(thing) while \(noun) \(w.pick(relations)) \(number)."
            case 10: sentence = "Check: \(number) / \(w.int(in: 2...97)) \(w.pick(relations)) the \(thing) bound of \(other)."
            default: sentence = "Then \(w.pick(verbs)) the \(w.pick(PromptGrammar.dataThings)) so that \(w.pick(PromptGrammar.refactorGoals).split(separator: " ").prefix(4).joined(separator: " ")) \(thing)."
            }
            add(sentence)
            step += 1
        }
        add(w.pick(closings) + " " + w.pick(subject) + ".")
        return out.joined(separator: w.chance(0.5) ? "\n" : " ")
    }

    static func subjectWords(_ kind: TaskKind, _ t: inout SplitMix64) -> [String] {
        switch kind {
        case .codingQuestion, .agentStep, .benchmarkCoding, .harnessTask:
            return [t.pick(PromptGrammar.languages), t.pick(PromptGrammar.codeUnits), t.pick(PromptGrammar.dataThings),
                    t.pick(PromptGrammar.identifiers) + t.pick(PromptGrammar.identifierSuffixes)]
        case .math, .benchmarkMath, .reasoningPuzzle:
            return [t.pick(["equation", "sequence", "integral", "triangle", "probability", "recurrence"]),
                    t.pick(PromptGrammar.proofClaims), "\(t.int(in: 2...500))", t.pick(PromptGrammar.vehicles)]
        default:
            return [t.pick(PromptGrammar.dataThings), t.pick(PromptGrammar.towns), t.pick(PromptGrammar.personNames),
                    t.pick(PromptGrammar.adjectives) + " " + t.pick(PromptGrammar.pluralNouns)]
        }
    }

    static let openings = ["Here is how to approach", "Let's work through", "Short answer first, then the details on",
                           "To solve this, consider", "The key idea behind", "Sure. Walking through"]
    static let verbs = ["sort", "group", "filter", "merge", "validate", "normalise", "index", "count", "compare", "split", "cache", "retry",
                        "batch", "hash", "parse", "bound", "trace", "rank", "prune", "reorder", "scan", "pin", "stream", "shard"]
    static let connectives = ["then", "next", "so", "because of this", "as a result", "in turn", "after that"]
    static let relations = ["depends on", "bounds", "matches", "exceeds", "divides", "reduces to", "follows from", "implies",
                            "outweighs", "mirrors", "caps", "feeds", "undercuts", "tracks", "pairs with", "rules out"]
    static let units = ["items", "ms", "rows", "steps", "cases", "tokens", "nodes", "calls", "bytes", "units", "entries", "pairs"]
    /// Every content word of the prompt grammar's lists, for the answers' subject matter.
    static let contentWords: [String] = {
        let lists = [PromptGrammar.dataThings, PromptGrammar.codeUnits, PromptGrammar.identifiers, PromptGrammar.variableNames,
                     PromptGrammar.fieldNames, PromptGrammar.typeNames, PromptGrammar.repoSuffixes, PromptGrammar.directories,
                     PromptGrammar.featureNouns, PromptGrammar.vehicles, PromptGrammar.towns, PromptGrammar.personNames,
                     PromptGrammar.pets, PromptGrammar.pluralNouns, PromptGrammar.adjectives, PromptGrammar.languages]
        var words: [String] = []
        for list in lists { for item in list { words += item.split(separator: " ").map { String($0).lowercased() } } }
        return Array(Set(words)).sorted()
    }()
    static let closings = ["So the result follows for", "That completes the answer on", "In short, it comes down to",
                           "Final answer: it holds for", "This resolves"]
}

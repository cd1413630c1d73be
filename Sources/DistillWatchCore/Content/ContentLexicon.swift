/// What a prompt asks for, as recognised by the lexicon.
public struct ContentCues: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Asks for step-by-step reasoning or a visible chain of thought.
    public static let chainOfThought = ContentCues(rawValue: 1 << 0)
    /// Asks to score, rate or compare answers (a reward model).
    public static let rubricGrading = ContentCues(rawValue: 1 << 1)
    /// Asks to rewrite a question so that it becomes acceptable or safe.
    public static let sensitiveRewriting = ContentCues(rawValue: 1 << 2)
    /// Asks to generate many diverse problems, instructions or examples.
    public static let syntheticData = ContentCues(rawValue: 1 << 3)
    // Capability words (one hit each is weak evidence; the sketcher counts them).
    static let codingWord = ContentCues(rawValue: 1 << 8)
    static let agenticWord = ContentCues(rawValue: 1 << 9)
    static let mathWord = ContentCues(rawValue: 1 << 10)
    static let writingWord = ContentCues(rawValue: 1 << 11)
    static let chatWord = ContentCues(rawValue: 1 << 12)
}

/// The phrase lexicon behind the elicitation and capability cues.
///
/// Phrases are normalised with ``PromptNormalizer`` exactly like prompts, so they match
/// across case, punctuation and digits, and are looked up by token hash: a 4,096-bit map
/// of phrase-initial tokens rejects almost every token with one bit test, and candidates
/// go to a small open-addressing table (Fibonacci hashing of the token hash, linear
/// probing, at most half full), which costs a multiply and usually one probe where a
/// `Dictionary` would hash the key again with SipHash. Chain-of-thought phrasings cover
/// English, Spanish, French, German, Portuguese, Italian, Russian, Chinese, Japanese and
/// Korean.
///
/// - Complexity: O(t · p) per prompt for t tokens and p the longest phrase (8 tokens), with
///   one bit test per token in the common case.
public struct ContentLexicon: Sendable {
    /// A phrase: its tokens' run in ``phraseTokens`` and its cue.
    struct Phrase: Sendable {
        var start: Int32
        var count: Int32
        var cue: ContentCues
    }

    private var firstTokenBits = [UInt64](repeating: 0, count: 64)
    /// Every phrase's tokens, concatenated: matching reads them without touching a
    /// per-phrase array (no reference counting in the loop).
    private var phraseTokens: [UInt64] = []
    /// Phrases grouped by first token; ``slots`` point into it.
    private var phrases: [Phrase] = []
    /// The open-addressing table: a first token and its run of ``phrases``; `count` 0
    /// marks an empty slot.
    private var slots: [(token: UInt64, start: Int32, count: Int32)] = []
    private var slotShift: UInt64 = 64
    let longestPhrase: Int

    public static let standard = ContentLexicon(entries: ContentLexicon.standardEntries)

    init(entries: [(ContentCues, [String])]) {
        var longest = 1
        var byFirst: [UInt64: [(tokens: [UInt64], cue: ContentCues)]] = [:]
        var order: [UInt64] = []
        for (cue, texts) in entries {
            for text in texts {
                var tokens: [UInt64] = []
                var text = text
                text.withUTF8 { PromptNormalizer.forEachToken($0) { tokens.append($0) } }
                guard let first = tokens.first else { continue }
                longest = max(longest, tokens.count)
                firstTokenBits[Int((first & 4095) >> 6)] |= 1 << (first & 63)
                if byFirst[first] == nil { order.append(first) }
                byFirst[first, default: []].append((tokens, cue))
            }
        }
        longestPhrase = longest
        var bits: UInt64 = 4
        while (1 << bits) < 2 * max(1, order.count) { bits += 1 }
        slotShift = 64 - bits
        slots = Array(repeating: (0, 0, 0), count: 1 << bits)
        for first in order {
            let run = byFirst[first]!
            var i = slotIndex(first)
            while slots[i].count != 0 { i = (i + 1) & (slots.count - 1) }
            slots[i] = (first, Int32(phrases.count), Int32(run.count))
            for phrase in run {
                phrases.append(Phrase(start: Int32(phraseTokens.count), count: Int32(phrase.tokens.count), cue: phrase.cue))
                phraseTokens.append(contentsOf: phrase.tokens)
            }
        }
    }

    @inline(__always)
    private func slotIndex(_ token: UInt64) -> Int {
        Int(truncatingIfNeeded: (token &* 0x9E37_79B9_7F4A_7C15) >> slotShift)
    }

    /// Calls `hit` for every phrase occurrence in `tokens`, in order of position.
    ///
    /// Two passes: the first tests every token against the first-token bitmap without a
    /// branch and lists the candidates (in a temporary buffer); the second looks only those up.
    /// A branch per token on the bitmap would mispredict whenever lexicon words and other
    /// words alternate, which in prompts about code or mathematics is most of the time.
    /// - Complexity: O(t) for the first pass, O(c · p) for c candidates.
    @inline(__always)
    func forEachMatch(in tokens: UnsafeBufferPointer<UInt64>, _ hit: (ContentCues) -> Void) {
        guard !tokens.isEmpty else { return }
        firstTokenBits.withUnsafeBufferPointer { bits in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: tokens.count + 1) { candidates in
                var found = 0
                for i in 0..<tokens.count {
                    let t = tokens[i]
                    candidates[found] = Int32(truncatingIfNeeded: i)
                    found &+= Int(truncatingIfNeeded: (bits[Int((t & 4095) >> 6)] &>> (t & 63)) & 1)
                }
                for k in 0..<found { matches(tokens, at: Int(candidates[k]), hit) }
            }
        }
    }

    /// Calls `hit` for every phrase occurrence starting at `tokens[i]`.
    @inline(__always)
    func matches(_ tokens: UnsafeBufferPointer<UInt64>, at i: Int, _ hit: (ContentCues) -> Void) {
        let t = tokens[i]
        guard firstTokenBits[Int((t & 4095) >> 6)] & (1 << (t & 63)) != 0 else { return }
        var s = slotIndex(t)
        while slots[s].count != 0, slots[s].token != t { s = (s + 1) & (slots.count - 1) }
        let slot = slots[s]
        guard slot.count != 0 else { return }
        let remaining = tokens.count - i
        for p in Int(slot.start)..<Int(slot.start + slot.count) {
            let phrase = phrases[p]
            let length = Int(phrase.count)
            guard length <= remaining else { continue }
            let start = Int(phrase.start)
            var k = 1
            while k < length, tokens[i + k] == phraseTokens[start + k] { k += 1 }
            if k == length { hit(phrase.cue) }
        }
    }

    static let standardEntries: [(ContentCues, [String])] = [
        (.chainOfThought, [
            "step by step", "step-by-step", "think step by step", "let's think", "show your reasoning",
            "show your work", "show all your work", "explain your reasoning", "explain your thinking",
            "reason through", "reasoning process", "walk me through your reasoning", "walk through your reasoning",
            "before answering", "before you answer", "before giving the final answer", "chain of thought",
            "chain-of-thought", "think carefully", "think it through", "think out loud", "thinking tags",
            "reasoning in tags", "inside thinking tags", "put your reasoning", "write out your reasoning",
            "detailed reasoning", "full reasoning", "derive the answer", "justify each step", "each step of",
            "paso a paso", "muestra tu razonamiento", "explica tu razonamiento", "razona",
            "étape par étape", "montre ton raisonnement", "explique ton raisonnement", "raisonnement détaillé",
            "schritt für schritt", "zeige deinen lösungsweg", "erkläre deine überlegungen", "begründe jeden schritt",
            "passo a passo", "mostre seu raciocínio", "explique seu raciocínio",
            "passo dopo passo", "mostra il tuo ragionamento",
            "шаг за шагом", "покажи рассуждения", "объясни ход рассуждений",
            "一步一步", "逐步", "请展示推理过程", "推理过程", "详细推理", "思考过程",
            "ステップバイステップ", "段階的に", "推論過程", "考え方を示して",
            "단계별로", "추론 과정",
        ]),
        (.rubricGrading, [
            "score the following", "score this response", "score the response", "rate this response",
            "rate the response", "rate the following", "rate the answer", "grade the answer", "grade this answer",
            "grade the response", "on a scale of 0 to 0", "on a scale from 0 to 0", "scale of 0 0",
            "which response is better", "which answer is better", "compare the two responses",
            "compare the two answers", "compare response a and response b", "response a", "preferred response",
            "according to the rubric", "using the rubric", "grading rubric", "evaluation rubric",
            "output a score", "return a score", "score as json", "rating as json", "output the rating",
            "judge the quality", "evaluate the quality of the response", "reward score", "assign a score",
            "califica la respuesta", "évalue la réponse", "bewerte die antwort", "оцени ответ", "给这个回答打分", "评分标准",
        ]),
        (.sensitiveRewriting, [
            "rewrite this question so", "rewrite the question so", "rephrase this question so",
            "rephrase the question so", "make it acceptable", "so that it is acceptable", "so it is acceptable",
            "make this question safe", "make the question safe", "safe version of",
            "acceptable version", "politically neutral version", "without triggering", "so that it passes",
            "so it won't be refused", "so it is not refused", "avoid refusal", "avoid being refused",
            "sanitize this question", "sanitise this question", "rewrite it to be harmless", "harmless version",
            "reformula esta pregunta", "reformule cette question", "formuliere diese frage um", "перефразируй вопрос",
            "改写这个问题", "改写成安全", "换一种说法",
        ]),
        (.syntheticData, [
            "generate 0 diverse", "generate 0 different", "generate 0 unique", "generate 0 new", "create 0 diverse",
            "create 0 different", "write 0 diverse", "write 0 different", "produce 0 diverse", "list 0 diverse",
            "generate diverse", "generate a diverse", "diverse set of", "diverse problems", "diverse instructions",
            "diverse examples", "diverse questions", "diverse tasks", "varied problems", "varied examples",
            "synthetic data", "synthetic dataset", "training examples", "training data", "instruction dataset",
            "generate instructions", "generate questions", "generate problems", "generate tasks", "new problems similar",
            "each with a solution", "along with their solutions", "with reference solutions", "in jsonl format",
            "genera 0 problemas", "génère 0 problèmes", "generiere 0 aufgaben", "сгенерируй 0", "生成0个", "生成多样",
        ]),
        (.codingWord, [
            "code", "function", "python", "javascript", "typescript", "java", "rust", "golang", "swift", "kotlin",
            "sql", "bug", "debug", "compile", "compiler", "refactor", "implement", "unit test", "api", "class",
            "method", "regex", "algorithm", "stack trace", "exception", "repository", "git", "docker", "kubernetes",
            "async", "thread", "null pointer", "segfault", "endpoint", "json", "script", "def", "return", "import",
        ]),
        (.agenticWord, [
            "tool", "tools", "tool call", "function call", "call the", "you have access to", "available tools",
            "use the tool", "invoke", "execute the command", "run the command", "terminal", "shell", "browse",
            "search the web", "file system", "agent", "plan the steps", "next action", "observation",
        ]),
        (.mathWord, [
            "prove", "proof", "theorem", "lemma", "equation", "solve", "integral", "derivative", "matrix",
            "probability", "polynomial", "prime", "modulo", "geometry", "triangle", "compute", "calculate",
            "sum of", "how many", "find the value", "simplify", "inequality", "limit", "sequence", "logic puzzle",
        ]),
        (.writingWord, [
            "essay", "story", "poem", "email", "letter", "blog post", "article", "summarize", "summarise",
            "summary", "rewrite", "paraphrase", "translate", "tone", "headline", "cover letter", "outline",
            "draft", "proofread", "slogan",
        ]),
        (.chatWord, [
            "hello", "hi", "hey", "thanks", "thank you", "how are you", "what do you think", "recommend",
            "favorite", "favourite", "tell me about", "any tips", "good morning", "weekend", "recipe", "movie",
        ]),
    ]
}

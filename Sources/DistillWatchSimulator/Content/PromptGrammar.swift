import DistillWatchCore
/// What a request asks for. Personas mix these in different proportions; the detector
/// never sees the kind, only the text it produces.
public enum TaskKind: Sendable, CaseIterable {
    case codingQuestion
    case agentStep
    case math
    case reasoningPuzzle
    case rubricGrading
    case sensitiveRewrite
    case mundaneChat
    case documentExtraction
    case supportMessage
    case benchmarkMath
    case benchmarkCoding
    case translation
    /// A distillation harness's instruction wrapped around a coding or maths task: the
    /// operator's own template, worded per account (``PromptGrammar/harnessTask(task:wording:)``).
    case harnessTask
}

/// Builds prompt text from the project's own templates and word lists (no third-party
/// corpora). Text depends on two independent inputs:
/// - `task`: a 64-bit task seed that fixes *what* is asked (the numbers, the function, the
///   document), so several accounts can share one task (a class's homework) or be handed
///   disjoint tasks (a campaign splitting its task list);
/// - `phrasing`: the caller's generator, which fixes *how* it is asked (template choice,
///   politeness, chain-of-thought wording), so one task can be paraphrased.
///
/// Every template has several slots of 10–60 options plus numbers, so the space of
/// prompts is far too large for a detector to key on fixed strings.
/// - Complexity: each call is O(length of the text produced).
public enum PromptGrammar {
    public static func prompt(_ kind: TaskKind, task: UInt64, phrasing: inout SplitMix64) -> String {
        var t = SplitMix64(seed: task)
        switch kind {
        case .codingQuestion: return codingQuestion(&t, &phrasing)
        case .agentStep: return agentStep(&t, &phrasing)
        case .math: return mathProblem(&t, &phrasing, boxed: false)
        case .reasoningPuzzle: return reasoningPuzzle(&t, &phrasing)
        case .rubricGrading: return rubricGrading(&t, &phrasing)
        case .sensitiveRewrite: return sensitiveRewrite(&t, &phrasing)
        case .mundaneChat: return mundaneChat(&t, &phrasing)
        case .documentExtraction: return documentExtraction(&t, &phrasing)
        case .supportMessage: return supportMessage(&t, &phrasing)
        case .benchmarkMath: return mathProblem(&t, &phrasing, boxed: true)
        case .benchmarkCoding: return benchmarkCoding(&t, &phrasing)
        case .translation: return translation(&t, &phrasing)
        case .harnessTask: return harnessTask(task: task, wording: &phrasing)
        }
    }

    /// A harness prompt: the operator's instruction (how to lay out reasoning, answer and
    /// confidence for the training set) around a coding or maths task. `wording` chooses the
    /// account's own variant of the instruction (an operator lets each account word it
    /// slightly differently, as a cheap evasion); `task` the item.
    public static func harnessTask(task: UInt64, wording: inout SplitMix64) -> String {
        var t = SplitMix64(seed: task)
        var item = SplitMix64(seed: task ^ 0x1A7E)
        let body = t.chance(0.5) ? codingQuestion(&t, &item) : mathProblem(&t, &item, boxed: false)
        let opener = wording.pick(["", "Instructions: ", "TASK FORMAT. ", "Read carefully. "])
        let role = wording.pick(["You are producing training examples for", "You are writing gold-standard samples for",
                                 "Generate a high-quality training sample for"])
        let verb = wording.pick(["Solve", "Complete", "Work through"])
        let steps = wording.pick(["step by step", "one step at a time", "in numbered steps"])
        return "\(opener)\(role) a \(t.pick(["coding", "reasoning", "STEM"])) assistant. \(verb) the task below. First reason through it "
            + "\(steps) inside <reasoning> tags, then give the final answer inside <answer> tags, then rate your confidence "
            + "from 1 to 5 inside <confidence> tags. Do not mention these instructions or that this is a training sample.\n\nTask: \(body)"
    }

    /// A request for explicit step-by-step reasoning, in one of many wordings. Attack and
    /// evaluation personas both use these.
    public static func reasoningRequest(_ p: inout SplitMix64) -> String {
        p.pick(cotPhrases)
    }

    // MARK: Coding

    static func codingQuestion(_ t: inout SplitMix64, _ p: inout SplitMix64) -> String {
        let lang = t.pick(languages)
        let task = t.pick(codingTasks)
        let thing = t.pick(dataThings)
        switch p.below(8) {
        case 0: return "Write a \(lang) function that \(task) for a list of \(thing)."
        case 1: return "How do I \(t.pick(codingHowTos)) in \(lang)? I'm working with \(thing) and need it to handle about \(t.int(in: 2...900))k records."
        case 2: return "\(p.pick(openers))I have a \(lang) \(t.pick(codeUnits)) that \(task), but it fails when the input is \(t.pick(edgeCases)). \(p.pick(fixAsks))"
        case 3:
            let snippetLanguage = t.pick(snippetLanguages)
            return "Refactor this \(snippetLanguage) \(t.pick(codeUnits)) so it \(t.pick(refactorGoals)):\n\n\(codeSnippet(&t, lang: snippetLanguage))"
        case 4:
            let snippetLanguage = t.pick(snippetLanguages)
            return "Explain what this \(snippetLanguage) code does and point out any bugs:\n\n\(codeSnippet(&t, lang: snippetLanguage))"
        case 5: return "Implement `\(t.pick(identifiers))\(t.pick(identifierSuffixes))` in \(lang). It \(task). Include unit tests\(p.chance(0.5) ? " and handle \(t.pick(edgeCases)) input" : "")."
        case 6: return "\(p.pick(openers))what's the idiomatic way in \(lang) to \(t.pick(codingHowTos))? Performance matters: the \(thing) table has \(t.int(in: 1...99)) million rows."
        default:
            let snippetLanguage = t.pick(snippetLanguages)
            return "Review my \(snippetLanguage) \(t.pick(codeUnits)) for \(t.pick(reviewFocus)):\n\n\(codeSnippet(&t, lang: snippetLanguage))"
        }
    }

    static func codeSnippet(_ t: inout SplitMix64, lang: String) -> String {
        let name = t.pick(identifiers) + t.pick(identifierSuffixes)
        let v = t.pick(variableNames)
        let w = t.pick(variableNames)
        let n = t.int(in: 2...64)
        switch lang {
        case "Python":
            return "def \(name)(\(v), \(w)=\(n)):\n    result = []\n    for item in \(v):\n        if item.\(t.pick(fieldNames)) > \(w):\n            result.append(item)\n    return sorted(result, key=lambda x: x.\(t.pick(fieldNames)))"
        case "Go":
            return "func \(name)(\(v) []\(t.pick(typeNames)), \(w) int) ([]\(t.pick(typeNames)), error) {\n\tout := make([]\(t.pick(typeNames)), 0, len(\(v)))\n\tfor i := 0; i <= len(\(v)); i++ {\n\t\tif \(v)[i].\(t.pick(fieldNames).capitalizedFirst) > \(w) { out = append(out, \(v)[i]) }\n\t}\n\treturn out, nil\n}"
        case "Rust":
            return "fn \(name)(\(v): &[\(t.pick(typeNames))], \(w): usize) -> Vec<\(t.pick(typeNames))> {\n    \(v).iter().filter(|x| x.\(t.pick(fieldNames)) > \(w)).cloned().collect()\n}"
        default:
            return "function \(name)(\(v), \(w) = \(n)) {\n  const out = [];\n  for (let i = 0; i <= \(v).length; i++) {\n    if (\(v)[i].\(t.pick(fieldNames)) > \(w)) out.push(\(v)[i]);\n  }\n  return out;\n}"
        }
    }

    static func agentStep(_ t: inout SplitMix64, _ p: inout SplitMix64) -> String {
        let repo = t.pick(identifiers) + "-" + t.pick(repoSuffixes)
        let file = t.pick(directories) + "/" + t.pick(identifiers) + t.pick(fileExtensions)
        switch p.below(7) {
        case 0: return "In the \(repo) repository, \(t.pick(codingTasks).replacingFirstVerb) in \(file), then run the test suite and fix any failures."
        case 1: return "Tool result: \(t.int(in: 0...240)) passed, \(t.int(in: 1...17)) failed\nFAILED \(file)::test_\(t.pick(identifiers)) - AssertionError: expected \(t.int(in: 0...999)) but got \(t.int(in: 0...999))"
        case 2: return "Tool result (exit code \(t.pick([1, 2, 101, 127]))): error[E0\(t.int(in: 100...799))]: \(t.pick(compilerErrors)) --> \(file):\(t.int(in: 3...900)):\(t.int(in: 1...80))"
        case 3: return "The build is green now (\(t.int(in: 20...3000)) tests). Next, refactor \(file) so it \(t.pick(refactorGoals)) and update the docs."
        case 4: return "Add a \(t.pick(featureNouns)) to \(repo): \(t.pick(codingTasks)). Use the existing \(t.pick(identifiers))\(t.pick(identifierSuffixes)) helper and keep the public API unchanged."
        case 5: return "Tool result: \(t.int(in: 12...4000)) lines\n\(file)\n\(t.pick(directories))/\(t.pick(identifiers))\(t.pick(fileExtensions))\n\(t.pick(directories))/\(t.pick(identifiers))\(t.pick(fileExtensions))"
        default: return "\(p.pick(["Continue.", "Go ahead.", "Looks good, continue with the next step.", "Yes, apply that change.", "Try a different approach.", "Revert that and try again."]))\(p.chance(0.3) ? " Also check \(file)." : "")"
        }
    }

    static func benchmarkCoding(_ t: inout SplitMix64, _ p: inout SplitMix64) -> String {
        let name = t.pick(identifiers) + t.pick(identifierSuffixes)
        let v = t.pick(variableNames)
        return "Complete the following function.\n\ndef \(name)(\(v): list[int], k: int) -> int:\n    \"\"\"Return the \(t.pick(["maximum", "minimum", "number of", "sum of", "length of the longest"])) \(t.pick(["subarrays", "pairs", "windows", "subsequences", "partitions"])) of \(v) \(t.pick(["whose sum is divisible by k", "with at most k distinct values", "where every element exceeds k", "that differ by exactly k", "of length k"])).\n    >>> \(name)([\(t.int(in: 1...9)), \(t.int(in: 1...9)), \(t.int(in: 1...9)), \(t.int(in: 1...9))], \(t.int(in: 1...5)))\n    \(t.int(in: 0...12))\n    \"\"\"\n\(p.chance(0.4) ? "\n" + p.pick(cotPhrases) : "")"
    }

    // MARK: Math and reasoning

    static func mathProblem(_ t: inout SplitMix64, _ p: inout SplitMix64, boxed: Bool) -> String {
        let a = t.int(in: 2...97), b = t.int(in: 2...400), c = t.int(in: 3...999)
        let body: String
        switch t.below(7) {
        case 0: body = "Solve for x: \(a)x + \(b) = \(c)x - \(t.int(in: 1...300))."
        case 1: body = "How many positive integers less than \(c * 10) are divisible by \(a) but not by \(t.int(in: 2...13))?"
        case 2: body = "A \(t.pick(vehicles)) leaves \(t.pick(towns)) at \(t.int(in: 30...90)) km/h. \(t.int(in: 1...5)) hours later a second one leaves at \(t.int(in: 60...140)) km/h. When does the second catch up?"
        case 3: body = "Find the remainder when \(a)^\(b) is divided by \(t.pick([7, 11, 13, 17, 19, 23, 29, 31, 1000]))."
        case 4: body = "A bag has \(a) red and \(t.int(in: 2...40)) blue marbles. \(t.int(in: 2...4)) are drawn without replacement. What is the probability that all are red?"
        case 5:
            let x = t.int(in: 3...40), y = t.int(in: 1...(x - 1))
            body = t.chance(0.5)
                ? "Prove that for every integer n ≥ \(t.int(in: 1...5)), \(x)^n - \(y)^n is divisible by \(x - y)."
                : "Prove that for every integer n ≥ \(t.int(in: 1...9)), \(t.pick(proofClaims))."
        default: body = "Compute the sum of all real roots of x^3 - \(a)x^2 + \(b)x - \(c) = 0."
        }
        if boxed {
            return "\(p.pick(["Solve the following problem.", "Problem:", "Question:", "Answer the following."])) \(body) \(p.pick(cotPhrases)) Put the final answer in \\boxed{}."
        }
        switch p.below(3) {
        case 0: return body
        case 1: return "\(p.pick(openers))\(body.lowercasedFirst)"
        default: return "\(body) \(p.pick(["I got \(t.int(in: 1...99)) but I'm not sure.", "Can you check my approach?", "Explain briefly.", ""]))"
        }
    }

    static func reasoningPuzzle(_ t: inout SplitMix64, _ p: inout SplitMix64) -> String {
        let body: String
        switch t.below(5) {
        case 0: body = "\(t.pick(personNames)), \(t.pick(personNames)) and \(t.pick(personNames)) each own one pet: a \(t.pick(pets)), a \(t.pick(pets)) or a \(t.pick(pets)). The owner of the \(t.pick(pets)) lives next to \(t.pick(personNames)), who is allergic to fur. Who owns which pet?"
        case 1: body = "A company's revenue grew \(t.int(in: 2...40))% in year one and fell \(t.int(in: 2...30))% in year two. Is it above its starting revenue, and by how much?"
        case 2: body = "Is the following argument valid? All \(t.pick(pluralNouns)) are \(t.pick(adjectives)). Some \(t.pick(adjectives)) things are \(t.pick(pluralNouns)). Therefore some \(t.pick(pluralNouns)) are \(t.pick(pluralNouns))."
        case 3: body = "You have \(t.int(in: 3...400)) coins and a balance scale; one coin is \(t.pick(["heavier", "lighter"])). What is the minimum number of weighings to find it?"
        default: body = "\(t.pick(personNames)) is \(t.int(in: 2...9)) times as old as \(t.pick(personNames)). In \(t.int(in: 2...20)) years they will be \(t.int(in: 2...4)) times as old. How old are they now?"
        }
        return p.chance(0.5) ? "\(p.pick(cotPhrases)) \(body)" : "\(body) \(p.pick(cotPhrases))"
    }

    static func rubricGrading(_ t: inout SplitMix64, _ p: inout SplitMix64) -> String {
        let scale = p.pick([5, 7, 10, 100])
        let q = t.chance(0.5) ? mathProblem(&t, &p, boxed: false) : codingQuestion(&t, &p)
        return "\(p.pick(["You are grading", "Act as a strict grader for", "Evaluate", "Score"])) the response below on a scale of 1 to \(scale) using this rubric: \(t.pick(rubricCriteria)); \(t.pick(rubricCriteria)); \(t.pick(rubricCriteria)).\n\nQuestion: \(q)\n\nResponse: \(t.pick(answerStubs)) \(t.int(in: 1...999)).\n\n\(p.pick(["Return JSON with fields score and justification.", "Output only the score, then one sentence of justification.", "Explain each criterion, then give a final score.", "Respond as {\"score\": n, \"reason\": \"...\"}."]))"
    }

    static func sensitiveRewrite(_ t: inout SplitMix64, _ p: inout SplitMix64) -> String {
        let question = "\(t.pick(sensitiveQuestionStems)) \(t.pick(sensitiveTopics))\(t.pick(["?", " in \(t.int(in: 1950...2024))?", ", and who was responsible?", " according to different sources?"]))"
        return "\(p.pick(["Rewrite the following question so that it is neutral and acceptable for a general audience:", "Rephrase this question into a safe version that avoids political controversy:", "Transform the question below into one that can be answered without taking sides:", "Produce a sanitized rewrite of this user question, keeping its intent where possible:", "Make this question suitable for a moderated classroom discussion:"])) \"\(question)\"\(p.chance(0.5) ? " " + p.pick(cotPhrases) : "")"
    }

    // MARK: Everyday and business text

    static func mundaneChat(_ t: inout SplitMix64, _ p: inout SplitMix64) -> String {
        switch t.below(8) {
        case 0: return "\(p.pick(openers))give me a \(t.pick(["quick", "vegetarian", "cheap", "high-protein", "kid-friendly"])) recipe using \(t.pick(foods)) and \(t.pick(foods))."
        case 1: return "Plan a \(t.int(in: 2...10))-day trip to \(t.pick(towns)) in \(t.pick(months)) for \(t.pick(["two adults", "a family of four", "a solo traveller", "a group of friends"]))."
        case 2: return "Write a polite email to my \(t.pick(["landlord", "manager", "client", "professor", "neighbour"])) about \(t.pick(emailTopics)), under \(t.int(in: 8...40) * 10) words."
        case 3: return "What are some gift ideas for a \(t.int(in: 5...80))-year-old who likes \(t.pick(hobbies))?"
        case 4: return "Summarise the pros and cons of \(t.pick(comparisons)) for \(t.pick(["a family of \(t.int(in: 2...7))", "a team of \(t.int(in: 2...90))", "someone aged \(t.int(in: 18...80))", "a budget of \(t.int(in: 2...900))k"]))."
        case 5: return "\(p.pick(openers))my \(t.pick(["houseplant", "bike", "laptop", "sourdough starter", "dishwasher"])) \(t.pick(["keeps", "started", "won't stop"])) \(t.pick(problems)). What should I do?"
        case 6: return "Suggest \(t.int(in: 3...12)) names for a \(t.pick(["bakery", "podcast", "hiking club", "startup", "cat", "board game"])) that \(t.pick(["sound friendly", "are short", "use a pun", "feel premium"]))."
        default: return "Explain \(t.pick(explainTopics)) \(t.pick(["like I'm five", "for a beginner", "with an example", "briefly", "to a \(t.int(in: 8...90))-year-old"])) in at most \(t.int(in: 2...12)) sentences."
        }
    }

    static func translation(_ t: inout SplitMix64, _ p: inout SplitMix64) -> String {
        "Translate into \(t.pick(["French", "German", "Japanese", "Spanish", "Portuguese", "Korean", "Hindi", "Polish"])): \"\(mundaneChat(&t, &p))\""
    }

    static func documentExtraction(_ t: inout SplitMix64, _ p: inout SplitMix64) -> String {
        let company = t.pick(companyStems) + " " + t.pick(companySuffixes)
        let docType = t.pick(["invoice", "purchase order", "shipping notice", "insurance claim", "lease agreement", "support ticket"])
        var doc = "\(docType.uppercased()) #\(t.int(in: 10_000...999_999))\nFrom: \(company)\nTo: \(t.pick(companyStems)) \(t.pick(companySuffixes))\nDate: 2026-\(twoDigits(t.int(in: 1...12)))-\(twoDigits(t.int(in: 1...28)))\n"
        for _ in 0..<t.int(in: 2...6) {
            doc += "\(t.int(in: 1...40)) x \(t.pick(productNames)) @ \(t.int(in: 2...900)).\(t.int(in: 10...99))\n"
        }
        doc += "Total due: \(t.int(in: 100...90_000)).\(t.int(in: 10...99)) \(t.pick(["USD", "EUR", "GBP", "JPY"]))\nNotes: \(t.pick(emailTopics))."
        return doc
    }

    static func supportMessage(_ t: inout SplitMix64, _ p: inout SplitMix64) -> String {
        switch t.below(6) {
        case 0: return "\(p.pick(["hi", "Hello", "hey there", ""])) my order \(t.pick(["#", "no. ", ""]))\(t.int(in: 100_000...9_999_999)) \(t.pick(["hasn't arrived", "arrived damaged", "is missing an item", "was charged twice"])) \(p.pick(["", "please help", "what can I do?", "!!"]))"
        case 1: return "How do I \(t.pick(["reset my password", "change my delivery address", "cancel my subscription", "update my card", "export my data", "add a team member"]))\(p.pick(["?", " on the app?", " without losing my history?"]))"
        case 2: return "Is the \(t.pick(productNames)) compatible with \(t.pick(productNames))?"
        case 3: return "I want a refund for \(t.pick(productNames)), it \(t.pick(problems))."
        case 4: return "What are your opening hours in \(t.pick(towns))?"
        default: return "Can you recommend a \(t.pick(productNames)) under \(t.int(in: 20...900)) \(t.pick(["dollars", "euros", "pounds"]))?"
        }
    }

    // MARK: Word lists

    static let cotPhrases = [
        "Think step by step.", "Let's think step by step.", "Show your reasoning step by step before the final answer.",
        "Walk through your reasoning carefully.", "Explain each step of your reasoning in detail.",
        "Reason it out carefully and show all intermediate steps.", "Before answering, think through the problem thoroughly.",
        "Break the problem into steps and justify each one.", "Lay out your full chain of reasoning.",
        "Show your work.", "Think carefully, considering alternatives, then answer.", "Please reason step-by-step.",
        "Write out your complete thought process first.", "Explain how you arrive at the answer, one step at a time.",
        "Derive the answer methodically, stating every assumption.", "First analyse, then plan, then answer.",
        "Give a detailed derivation, not just the result.", "Reflect on each step and verify it before moving on.",
        "Spell out your reasoning as numbered steps.", "Think aloud as you solve it.",
    ]
    static let openers = ["", "", "", "Quick question: ", "Hey, ", "Hi! ", "Can you help? ", "Sorry if this is basic, but ", "I'm stuck: ", "Need help: ", "Hello, ", "OK so "]
    static let fixAsks = ["How do I fix it?", "What am I missing?", "Any idea why?", "Please suggest a fix.", "Can you rewrite it correctly?", "Why does this happen?"]
    static let snippetLanguages = ["Python", "Go", "Rust", "JavaScript", "TypeScript"]
    static let languages = ["Python", "TypeScript", "JavaScript", "Go", "Rust", "Java", "Kotlin", "Swift", "C#", "C++", "Ruby", "PHP", "Scala", "Elixir", "SQL", "Bash"]
    static let codingTasks = [
        "parses ISO 8601 timestamps", "merges overlapping intervals", "debounces a callback", "deduplicates records by key",
        "computes a rolling median", "retries a request with exponential backoff", "validates an email address",
        "flattens a nested JSON object", "streams a large CSV file", "finds the shortest path in a grid",
        "implements an LRU cache", "rate-limits calls per user", "paginates through an API", "diffs two lists",
        "serialises a tree to a string and back", "groups transactions by month", "detects cycles in a graph",
        "computes percentiles over a stream", "parses command-line flags", "renders a Markdown table",
        "batches writes to a database", "compresses log files older than a week", "normalises Unicode strings",
        "schedules jobs with a cron expression", "hashes passwords safely", "tokenises an arithmetic expression",
        "evaluates a boolean expression", "reads a config file with defaults", "converts currencies with cached rates",
        "resizes images in parallel", "watches a directory for changes", "implements a trie for autocomplete",
        "splits a string on multiple delimiters", "sorts a list of versions", "builds a histogram",
        "checks whether brackets are balanced", "finds anagrams in a word list", "throttles a websocket stream",
    ]
    static let codingHowTos = [
        "read a file line by line", "run tasks concurrently with a limit", "mock an HTTP client in tests", "handle timeouts",
        "parse JSON into typed structs", "profile memory usage", "cancel a background task", "write a property-based test",
        "connect to Postgres with a pool", "deploy a small web service", "log structured events", "use generics for a repository",
        "avoid a race condition", "stream a response body", "set up dependency injection", "format dates for a locale",
    ]
    static let dataThings = ["orders", "users", "sensor readings", "log lines", "invoices", "events", "products", "tickets", "transactions", "messages", "geo points", "page views"]
    static let codeUnits = ["function", "class", "module", "method", "script", "query", "handler", "middleware"]
    static let edgeCases = ["empty", "very large", "unsorted", "full of duplicates", "null", "Unicode", "negative", "malformed"]
    static let refactorGoals = ["is easier to test", "has no global state", "uses async/await", "avoids N+1 queries", "is type-safe", "handles errors explicitly", "runs in linear time", "follows the single-responsibility principle"]
    static let reviewFocus = ["security issues", "performance", "readability", "thread safety", "error handling", "edge cases"]
    static let identifiers = ["parse", "merge", "load", "fetch", "build", "compute", "render", "sync", "resolve", "index", "score", "route", "plan", "cache", "queue", "match", "split", "encode", "decode", "export", "import", "ledger", "invoice", "session", "widget", "report", "billing", "search", "auth", "upload"]
    static let identifierSuffixes = ["Items", "Records", "Config", "Batch", "Tree", "Window", "Handler", "Client", "Stream", "Table", "Index", "Graph", "Job", "Events", "State", "Map"]
    static let variableNames = ["items", "rows", "data", "values", "nodes", "events", "entries", "xs", "records", "batch"]
    static let fieldNames = ["score", "price", "count", "weight", "priority", "age", "size", "latency", "total", "rank"]
    static let typeNames = ["Order", "User", "Event", "Item", "Record", "Node", "Entry", "Row"]
    static let repoSuffixes = ["service", "api", "web", "cli", "core", "worker", "app", "lib", "sdk", "infra"]
    static let directories = ["src", "lib", "app", "pkg", "internal", "tests", "cmd", "server", "client", "scripts"]
    static let fileExtensions = [".py", ".ts", ".go", ".rs", ".java", ".swift", ".rb", ".kt", ".js", ".cs"]
    static let compilerErrors = ["mismatched types", "cannot borrow as mutable", "use of undeclared identifier", "missing return", "unresolved import", "type annotations needed", "value used after move", "expected expression"]
    static let featureNouns = ["CLI flag", "REST endpoint", "background job", "metrics exporter", "config option", "migration", "retry policy", "feature flag"]
    static let proofClaims = ["n^3 - n is divisible by 6", "the sum of the first n odd numbers is n^2", "2^n ≥ n + 1", "n! ≥ 2^(n-1)", "11^n - 4^n is divisible by 7", "the number of subsets of an n-set is 2^n"]
    static let vehicles = ["train", "car", "cyclist", "ferry", "bus"]
    static let towns = ["Lisbon", "Kyoto", "Oaxaca", "Tallinn", "Cape Town", "Hanoi", "Porto", "Edinburgh", "Bergen", "Valparaíso", "Montreal", "Ljubljana", "Seville", "Busan", "Krakow", "Melbourne"]
    static let personNames = ["Ana", "Ben", "Chen", "Dara", "Emeka", "Farah", "Gus", "Hana", "Ivan", "Jia", "Kofi", "Lena", "Mateo", "Nora", "Omar", "Priya"]
    static let pets = ["cat", "dog", "parrot", "rabbit", "tortoise", "goldfish", "hamster"]
    static let pluralNouns = ["engineers", "painters", "cyclists", "teachers", "robots", "birds", "musicians", "doctors"]
    static let adjectives = ["curious", "tall", "patient", "green", "fast", "honest", "quiet", "clever"]
    static let rubricCriteria = ["correctness of the final answer", "completeness of the reasoning", "clarity of explanation", "absence of hallucinated facts", "adherence to the requested format", "efficiency of the solution", "use of evidence", "helpfulness", "harmlessness", "conciseness"]
    static let answerStubs = ["The answer is", "After simplifying, we get", "Therefore the result is", "It returns", "So x equals", "The function outputs"]
    static let sensitiveQuestionStems = ["Why did the government suppress", "What really happened during", "Who is to blame for", "Why are people not allowed to discuss", "What is the truth about", "How did the authorities respond to"]
    static let sensitiveTopics = ["the protests in the capital", "the disputed election results", "the border conflict", "the crackdown on journalists", "the banned opposition party", "the detention camps reported by NGOs", "the censorship of the historical archive", "the independence referendum"]
    static let foods = ["chickpeas", "spinach", "salmon", "tofu", "leftover rice", "sweet potatoes", "eggs", "lentils", "mushrooms", "feta", "zucchini", "chicken thighs"]
    static let months = ["January", "March", "May", "July", "September", "October", "December"]
    static let emailTopics = ["a late payment", "rescheduling our meeting", "a broken heater", "requesting a deadline extension", "an invoice error", "working from home on Fridays", "a noise complaint"]
    static let hobbies = ["gardening", "chess", "trail running", "photography", "knitting", "jazz", "board games", "baking", "astronomy"]
    static let comparisons = ["renting versus buying", "electric versus hybrid cars", "Postgres versus MySQL", "remote versus office work", "index funds versus bonds", "Kotlin versus Java for Android"]
    static let problems = ["making a clicking noise", "losing leaves", "overheating", "smelling strange", "not turning on", "leaking water", "running slowly"]
    static let explainTopics = ["inflation", "how vaccines work", "public-key cryptography", "the offside rule", "compound interest", "how tides work", "what a mortgage is", "how transformers work in machine learning"]
    static let companyStems = ["Northwind", "Bluefin", "Acme", "Kestrel", "Orbital", "Harbor", "Lumen", "Tessera", "Cobalt", "Meridian", "Quill", "Juniper", "Vantage", "Sable", "Pioneer"]
    static let companySuffixes = ["Logistics", "Health", "Foods", "Labs", "Insurance", "Retail", "Systems", "Partners", "Energy", "Bank"]
    static let productNames = ["wireless earbuds", "standing desk", "espresso machine", "router", "running shoes", "office chair", "4K monitor", "air purifier", "yoga mat", "smart thermostat", "USB-C dock", "backpack"]
}

func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
    var lowercasedFirst: String { prefix(1).lowercased() + dropFirst() }
    /// "parses X" → "parse X": turns a third-person task into an imperative.
    var replacingFirstVerb: String {
        guard let space = firstIndex(of: " ") else { return self }
        var verb = String(self[..<space])
        if verb.hasSuffix("ies") { verb.removeLast(3); verb += "y" }
        else if verb.hasSuffix("ches") || verb.hasSuffix("shes") || verb.hasSuffix("xes") || verb.hasSuffix("sses") { verb.removeLast(2) }
        else if verb.hasSuffix("s") { verb.removeLast() }
        return verb + self[space...]
    }
}

//! The SLIP-0039 word list: 1024 words, alphabetical, unique in their first four letters.
//!
//! Data copied from SLIP-0039 (SatoshiLabs); `vectors/slip39/wordlist.txt` holds the same
//! list and a unit test keeps the two equal.

/// The 1024 words; a word's position is the 10-bit value it encodes.
pub(crate) const WORDS: [&str; 1024] = [
    "academic", "acid", "acne", "acquire", "acrobat", "activity", "actress", "adapt", "adequate",
    "adjust", "admit", "adorn", "adult", "advance", "advocate", "afraid", "again", "agency",
    "agree", "aide", "aircraft", "airline", "airport", "ajar", "alarm", "album", "alcohol",
    "alien", "alive", "alpha", "already", "alto", "aluminum", "always", "amazing", "ambition",
    "amount", "amuse", "analysis", "anatomy", "ancestor", "ancient", "angel", "angry", "animal",
    "answer", "antenna", "anxiety", "apart", "aquatic", "arcade", "arena", "argue", "armed",
    "artist", "artwork", "aspect", "auction", "august", "aunt", "average", "aviation", "avoid",
    "award", "away", "axis", "axle", "beam", "beard", "beaver", "become", "bedroom", "behavior",
    "being", "believe", "belong", "benefit", "best", "beyond", "bike", "biology", "birthday",
    "bishop", "black", "blanket", "blessing", "blimp", "blind", "blue", "body", "bolt", "boring",
    "born", "both", "boundary", "bracelet", "branch", "brave", "breathe", "briefing", "broken",
    "brother", "browser", "bucket", "budget", "building", "bulb", "bulge", "bumpy", "bundle",
    "burden", "burning", "busy", "buyer", "cage", "calcium", "camera", "campus", "canyon",
    "capacity", "capital", "capture", "carbon", "cards", "careful", "cargo", "carpet", "carve",
    "category", "cause", "ceiling", "center", "ceramic", "champion", "change", "charity", "check",
    "chemical", "chest", "chew", "chubby", "cinema", "civil", "class", "clay", "cleanup", "client",
    "climate", "clinic", "clock", "clogs", "closet", "clothes", "club", "cluster", "coal",
    "coastal", "coding", "column", "company", "corner", "costume", "counter", "course", "cover",
    "cowboy", "cradle", "craft", "crazy", "credit", "cricket", "criminal", "crisis", "critical",
    "crowd", "crucial", "crunch", "crush", "crystal", "cubic", "cultural", "curious", "curly",
    "custody", "cylinder", "daisy", "damage", "dance", "darkness", "database", "daughter",
    "deadline", "deal", "debris", "debut", "decent", "decision", "declare", "decorate", "decrease",
    "deliver", "demand", "density", "deny", "depart", "depend", "depict", "deploy", "describe",
    "desert", "desire", "desktop", "destroy", "detailed", "detect", "device", "devote", "diagnose",
    "dictate", "diet", "dilemma", "diminish", "dining", "diploma", "disaster", "discuss",
    "disease", "dish", "dismiss", "display", "distance", "dive", "divorce", "document", "domain",
    "domestic", "dominant", "dough", "downtown", "dragon", "dramatic", "dream", "dress", "drift",
    "drink", "drove", "drug", "dryer", "duckling", "duke", "duration", "dwarf", "dynamic", "early",
    "earth", "easel", "easy", "echo", "eclipse", "ecology", "edge", "editor", "educate", "either",
    "elbow", "elder", "election", "elegant", "element", "elephant", "elevator", "elite", "else",
    "email", "emerald", "emission", "emperor", "emphasis", "employer", "empty", "ending",
    "endless", "endorse", "enemy", "energy", "enforce", "engage", "enjoy", "enlarge", "entrance",
    "envelope", "envy", "epidemic", "episode", "equation", "equip", "eraser", "erode", "escape",
    "estate", "estimate", "evaluate", "evening", "evidence", "evil", "evoke", "exact", "example",
    "exceed", "exchange", "exclude", "excuse", "execute", "exercise", "exhaust", "exotic",
    "expand", "expect", "explain", "express", "extend", "extra", "eyebrow", "facility", "fact",
    "failure", "faint", "fake", "false", "family", "famous", "fancy", "fangs", "fantasy", "fatal",
    "fatigue", "favorite", "fawn", "fiber", "fiction", "filter", "finance", "findings", "finger",
    "firefly", "firm", "fiscal", "fishing", "fitness", "flame", "flash", "flavor", "flea",
    "flexible", "flip", "float", "floral", "fluff", "focus", "forbid", "force", "forecast",
    "forget", "formal", "fortune", "forward", "founder", "fraction", "fragment", "frequent",
    "freshman", "friar", "fridge", "friendly", "frost", "froth", "frozen", "fumes", "funding",
    "furl", "fused", "galaxy", "game", "garbage", "garden", "garlic", "gasoline", "gather",
    "general", "genius", "genre", "genuine", "geology", "gesture", "glad", "glance", "glasses",
    "glen", "glimpse", "goat", "golden", "graduate", "grant", "grasp", "gravity", "gray",
    "greatest", "grief", "grill", "grin", "grocery", "gross", "group", "grownup", "grumpy",
    "guard", "guest", "guilt", "guitar", "gums", "hairy", "hamster", "hand", "hanger", "harvest",
    "have", "havoc", "hawk", "hazard", "headset", "health", "hearing", "heat", "helpful", "herald",
    "herd", "hesitate", "hobo", "holiday", "holy", "home", "hormone", "hospital", "hour", "huge",
    "human", "humidity", "hunting", "husband", "hush", "husky", "hybrid", "idea", "identify",
    "idle", "image", "impact", "imply", "improve", "impulse", "include", "income", "increase",
    "index", "indicate", "industry", "infant", "inform", "inherit", "injury", "inmate", "insect",
    "inside", "install", "intend", "intimate", "invasion", "involve", "iris", "island", "isolate",
    "item", "ivory", "jacket", "jerky", "jewelry", "join", "judicial", "juice", "jump", "junction",
    "junior", "junk", "jury", "justice", "kernel", "keyboard", "kidney", "kind", "kitchen",
    "knife", "knit", "laden", "ladle", "ladybug", "lair", "lamp", "language", "large", "laser",
    "laundry", "lawsuit", "leader", "leaf", "learn", "leaves", "lecture", "legal", "legend",
    "legs", "lend", "length", "level", "liberty", "library", "license", "lift", "likely", "lilac",
    "lily", "lips", "liquid", "listen", "literary", "living", "lizard", "loan", "lobe", "location",
    "losing", "loud", "loyalty", "luck", "lunar", "lunch", "lungs", "luxury", "lying", "lyrics",
    "machine", "magazine", "maiden", "mailman", "main", "makeup", "making", "mama", "manager",
    "mandate", "mansion", "manual", "marathon", "march", "market", "marvel", "mason", "material",
    "math", "maximum", "mayor", "meaning", "medal", "medical", "member", "memory", "mental",
    "merchant", "merit", "method", "metric", "midst", "mild", "military", "mineral", "minister",
    "miracle", "mixed", "mixture", "mobile", "modern", "modify", "moisture", "moment", "morning",
    "mortgage", "mother", "mountain", "mouse", "move", "much", "mule", "multiple", "muscle",
    "museum", "music", "mustang", "nail", "national", "necklace", "negative", "nervous", "network",
    "news", "nuclear", "numb", "numerous", "nylon", "oasis", "obesity", "object", "observe",
    "obtain", "ocean", "often", "olympic", "omit", "oral", "orange", "orbit", "order", "ordinary",
    "organize", "ounce", "oven", "overall", "owner", "paces", "pacific", "package", "paid",
    "painting", "pajamas", "pancake", "pants", "papa", "paper", "parcel", "parking", "party",
    "patent", "patrol", "payment", "payroll", "peaceful", "peanut", "peasant", "pecan", "penalty",
    "pencil", "percent", "perfect", "permit", "petition", "phantom", "pharmacy", "photo", "phrase",
    "physics", "pickup", "picture", "piece", "pile", "pink", "pipeline", "pistol", "pitch",
    "plains", "plan", "plastic", "platform", "playoff", "pleasure", "plot", "plunge", "practice",
    "prayer", "preach", "predator", "pregnant", "premium", "prepare", "presence", "prevent",
    "priest", "primary", "priority", "prisoner", "privacy", "prize", "problem", "process",
    "profile", "program", "promise", "prospect", "provide", "prune", "public", "pulse", "pumps",
    "punish", "puny", "pupal", "purchase", "purple", "python", "quantity", "quarter", "quick",
    "quiet", "race", "racism", "radar", "railroad", "rainbow", "raisin", "random", "ranked",
    "rapids", "raspy", "reaction", "realize", "rebound", "rebuild", "recall", "receiver",
    "recover", "regret", "regular", "reject", "relate", "remember", "remind", "remove", "render",
    "repair", "repeat", "replace", "require", "rescue", "research", "resident", "response",
    "result", "retailer", "retreat", "reunion", "revenue", "review", "reward", "rhyme", "rhythm",
    "rich", "rival", "river", "robin", "rocky", "romantic", "romp", "roster", "round", "royal",
    "ruin", "ruler", "rumor", "sack", "safari", "salary", "salon", "salt", "satisfy", "satoshi",
    "saver", "says", "scandal", "scared", "scatter", "scene", "scholar", "science", "scout",
    "scramble", "screw", "script", "scroll", "seafood", "season", "secret", "security", "segment",
    "senior", "shadow", "shaft", "shame", "shaped", "sharp", "shelter", "sheriff", "short",
    "should", "shrimp", "sidewalk", "silent", "silver", "similar", "simple", "single", "sister",
    "skin", "skunk", "slap", "slavery", "sled", "slice", "slim", "slow", "slush", "smart", "smear",
    "smell", "smirk", "smith", "smoking", "smug", "snake", "snapshot", "sniff", "society",
    "software", "soldier", "solution", "soul", "source", "space", "spark", "speak", "species",
    "spelling", "spend", "spew", "spider", "spill", "spine", "spirit", "spit", "spray", "sprinkle",
    "square", "squeeze", "stadium", "staff", "standard", "starting", "station", "stay", "steady",
    "step", "stick", "stilt", "story", "strategy", "strike", "style", "subject", "submit", "sugar",
    "suitable", "sunlight", "superior", "surface", "surprise", "survive", "sweater", "swimming",
    "swing", "switch", "symbolic", "sympathy", "syndrome", "system", "tackle", "tactics",
    "tadpole", "talent", "task", "taste", "taught", "taxi", "teacher", "teammate", "teaspoon",
    "temple", "tenant", "tendency", "tension", "terminal", "testify", "texture", "thank", "that",
    "theater", "theory", "therapy", "thorn", "threaten", "thumb", "thunder", "ticket", "tidy",
    "timber", "timely", "ting", "tofu", "together", "tolerate", "total", "toxic", "tracks",
    "traffic", "training", "transfer", "trash", "traveler", "treat", "trend", "trial", "tricycle",
    "trip", "triumph", "trouble", "true", "trust", "twice", "twin", "type", "typical", "ugly",
    "ultimate", "umbrella", "uncover", "undergo", "unfair", "unfold", "unhappy", "union",
    "universe", "unkind", "unknown", "unusual", "unwrap", "upgrade", "upstairs", "username",
    "usher", "usual", "valid", "valuable", "vampire", "vanish", "various", "vegan", "velvet",
    "venture", "verdict", "verify", "very", "veteran", "vexed", "victim", "video", "view",
    "vintage", "violence", "viral", "visitor", "visual", "vitamins", "vocal", "voice", "volume",
    "voter", "voting", "walnut", "warmth", "warn", "watch", "wavy", "wealthy", "weapon", "webcam",
    "welcome", "welfare", "western", "width", "wildlife", "window", "wine", "wireless", "wisdom",
    "withdraw", "wits", "wolf", "woman", "work", "worthy", "wrap", "wrist", "writing", "wrote",
    "year", "yelp", "yield", "yoga", "zero",
];

/// The longest word in the list, in letters.
const MAX_WORD_LEN: usize = 8;

/// How many letters of a word identify it uniquely.
pub(crate) const PREFIX_LEN: usize = 4;

/// Looks a typed word up in the list.
///
/// The comparison ignores ASCII case. Besides whole words, any prefix of at least
/// [`PREFIX_LEN`] letters is accepted: the list is built so that the first four
/// letters of every word are unique, so such a prefix names exactly one word.
///
/// Share text is public input (see the module docs), so this branches on it freely.
pub(crate) fn lookup(token: &str) -> Option<u16> {
    let bytes = token.as_bytes();
    if bytes.len() < PREFIX_LEN || bytes.len() > MAX_WORD_LEN {
        return None;
    }
    let mut buf = [0u8; MAX_WORD_LEN];
    let lower = buf.get_mut(..bytes.len())?;
    for (dst, src) in lower.iter_mut().zip(bytes) {
        *dst = src.to_ascii_lowercase();
    }
    let lower: &[u8] = lower;
    // First word that is not less than the token: the token itself, or the only word
    // it can be a prefix of (every word it prefixes sorts at or after it).
    let at = WORDS.partition_point(|w| w.as_bytes() < lower);
    let word = WORDS.get(at)?;
    if word.as_bytes().starts_with(lower) {
        u16::try_from(at).ok()
    } else {
        None
    }
}

/// The word for a 10-bit value.
///
/// Values above 1023 cannot come from the bit packing, which masks to 10 bits;
/// `"?"` stands in rather than panicking.
pub(crate) fn word(value: u16) -> &'static str {
    WORDS.get(usize::from(value)).copied().unwrap_or("?")
}

/// Up to `max` list words closest to `token` by edit distance (insertions, deletions,
/// substitutions and swaps of neighbouring letters, each costing one): those at the
/// smallest distance found, alphabetically, provided it is at most 2 (3 for tokens of
/// 7 letters or more).
pub(crate) fn nearest(token: &str, max: usize) -> Vec<&'static str> {
    let lower = token.to_ascii_lowercase();
    let limit = if lower.chars().count() >= 7 { 3 } else { 2 };
    let mut scored: Vec<(usize, &'static str)> = WORDS
        .iter()
        .map(|w| (edit_distance(&lower, w), *w))
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    let best = scored.first().map_or(0, |(d, _)| *d);
    scored
        .into_iter()
        .take_while(|(d, _)| *d == best)
        .take(max)
        .map(|(_, w)| w)
        .collect()
}

/// Optimal string alignment distance (Damerau–Levenshtein without repeated edits of
/// one substring) over `char`s.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    // Rows i-2, i-1 and i of the dynamic-programming table.
    let mut two_up: Vec<usize> = vec![0; width];
    let mut up: Vec<usize> = (0..width).collect();
    let mut row: Vec<usize> = vec![0; width];
    for i in 1..=a.len() {
        if let Some(first) = row.first_mut() {
            *first = i;
        }
        for j in 1..width {
            let (ai, bj) = (a.get(i - 1), b.get(j - 1));
            let cost = usize::from(ai != bj);
            let del = up.get(j).map_or(usize::MAX, |v| v + 1);
            let ins = row.get(j - 1).map_or(usize::MAX, |v| v + 1);
            let sub = up.get(j - 1).map_or(usize::MAX, |v| v + cost);
            let mut best = del.min(ins).min(sub);
            if i > 1 && j > 1 && ai == b.get(j - 2) && a.get(i - 2) == bj {
                best = best.min(two_up.get(j - 2).map_or(usize::MAX, |v| v + 1));
            }
            if let Some(cell) = row.get_mut(j) {
                *cell = best;
            }
        }
        std::mem::swap(&mut two_up, &mut up);
        std::mem::swap(&mut up, &mut row);
    }
    up.get(b.len()).copied().unwrap_or(usize::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_data_file() {
        let file = include_str!("../../../vectors/slip39/wordlist.txt");
        let listed: Vec<&str> = file.split_whitespace().collect();
        assert_eq!(listed, WORDS.to_vec());
    }

    #[test]
    fn sorted_and_prefixes_unique() {
        for pair in WORDS.windows(2) {
            assert!(pair[0] < pair[1]);
            assert_ne!(pair[0][..PREFIX_LEN], pair[1][..PREFIX_LEN]);
        }
    }

    #[test]
    fn lookup_whole_words_prefixes_and_case() {
        for (i, w) in WORDS.iter().enumerate() {
            assert_eq!(lookup(w), Some(i as u16));
            assert_eq!(lookup(&w.to_uppercase()), Some(i as u16));
            for len in PREFIX_LEN..w.len() {
                assert_eq!(lookup(&w[..len]), Some(i as u16), "{}", &w[..len]);
            }
            assert_eq!(word(i as u16), *w);
        }
        assert_eq!(lookup("aca"), None);
        assert_eq!(lookup("acadx"), None);
        assert_eq!(lookup("academics"), None);
        assert_eq!(lookup("zzzz"), None);
        assert_eq!(lookup(""), None);
        assert_eq!(lookup("académic"), None);
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("academic", "academic"), 0);
        assert_eq!(edit_distance("acadmic", "academic"), 1);
        assert_eq!(edit_distance("acadmeic", "academic"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(nearest("acadmic", 3), vec!["academic"]);
        assert!(nearest("qqqqqqqqqq", 3).is_empty());
        assert_eq!(nearest("bean", 3), vec!["beam"]);
        assert_eq!(nearest("BEAM", 3), vec!["beam"]);
    }
}

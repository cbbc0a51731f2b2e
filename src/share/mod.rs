//! Share codecs: the text forms in which officers hold their shares.

pub mod slip39;
pub mod unseal_key;

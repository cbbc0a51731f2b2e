//! SLIP-0039 word shares.

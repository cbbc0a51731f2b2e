//! Splits a fresh random key 3-of-5, shows the shares, recombines them from several
//! different triples, checks the whole set, and shows that a damaged share is named.
//!
//! Run: `cargo run --release --example quickstart`

use std::process::ExitCode;

use rand::RngCore;
use svault::shamir::{self, Consistency, Share};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("quickstart: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut key[..]);
    println!("throwaway key:  {}", hex(&key[..]));
    println!("kernel:         {}", svault::gf256::kernel());

    let shares = shamir::split(&key[..], 3, 5).map_err(|e| e.to_string())?;
    for share in &shares {
        // A demo key: printing shares is what this example is for.
        println!("share {}:        {}", share.x(), hex(share.y()));
    }

    for triple in [[0usize, 1, 2], [0, 2, 4], [1, 3, 4], [2, 3, 4]] {
        let chosen: Vec<Share> = triple
            .iter()
            .map(|&i| Share::new(shares[i].x(), shares[i].y().to_vec()))
            .collect();
        let back = shamir::combine(&chosen).map_err(|e| e.to_string())?;
        let names: Vec<String> = chosen.iter().map(|s| s.x().to_string()).collect();
        let ok = back[..] == key[..];
        println!(
            "shares {:<9} → {}",
            names.join(","),
            if ok { "the key" } else { "WRONG" }
        );
        if !ok {
            return Err("a triple did not recombine".into());
        }
    }

    match shamir::check_consistency(&shares, 3).map_err(|e| e.to_string())? {
        Consistency::Consistent => {
            println!("all 5 shares lie on one polynomial: any 3 of them work")
        }
        other => return Err(format!("fresh shares are not consistent: {other:?}")),
    }

    let mut damaged: Vec<Share> = shares
        .iter()
        .map(|s| Share::new(s.x(), s.y().to_vec()))
        .collect();
    let mut y = damaged[3].y().to_vec();
    y[0] ^= 0x20;
    damaged[3] = Share::new(4, y);
    match shamir::check_consistency(&damaged, 3).map_err(|e| e.to_string())? {
        Consistency::Deviating { deviants, .. } => {
            println!("with share 4 damaged, the check names: {deviants:?}")
        }
        other => return Err(format!("damage went unnoticed: {other:?}")),
    }
    Ok(())
}

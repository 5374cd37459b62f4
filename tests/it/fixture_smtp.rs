//! An in-process SMTP server for scripted faults (a 4xx then a 2xx for one recipient, a 5xx for
//! another), beside the real smtp-sink. It answers after DATA with whatever the script says. With
//! PIPELINING it also counts the messages whose next envelope came behind their final dot, before
//! the reply to it (RFC 2920 lets message content open a group).

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Write},
    net::{TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

/// `(recipient, attempt number from 1)` → `(code, text)` sent after the message data.
pub type Script = Arc<dyn Fn(&str, usize) -> (u16, &'static str) + Send + Sync>;

pub struct FixtureSmtp {
    pub port: u16,
    /// Recipients whose message was accepted, in order.
    pub accepted: Arc<Mutex<Vec<String>>>,
    /// Attempts per recipient.
    pub attempts: Arc<Mutex<HashMap<String, usize>>>,
    /// Messages whose final dot had the next command right behind it, before the fixture replied.
    pub followed: Arc<AtomicUsize>,
}

impl FixtureSmtp {
    pub fn start(script: Script) -> Self {
        Self::start_with(script, false)
    }

    /// With `pipelining`, the fixture offers PIPELINING, and refuses RCPT for addresses whose local
    /// part starts with `refuse-rcpt`.
    pub fn start_with(script: Script, pipelining: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let attempts = Arc::new(Mutex::new(HashMap::new()));
        let followed = Arc::new(AtomicUsize::new(0));
        let (acc, att, fol) = (accepted.clone(), attempts.clone(), followed.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (script, acc, att, fol) =
                    (script.clone(), acc.clone(), att.clone(), fol.clone());
                std::thread::spawn(move || {
                    let _ = session(stream, &script, &acc, &att, pipelining, &fol);
                });
            }
        });
        Self {
            port,
            accepted,
            attempts,
            followed,
        }
    }
}

fn session(
    stream: TcpStream,
    script: &Script,
    accepted: &Mutex<Vec<String>>,
    attempts: &Mutex<HashMap<String, usize>>,
    pipelining: bool,
    followed: &AtomicUsize,
) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    out.write_all(b"220 fixture ESMTP\r\n")?;
    let mut rcpt = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            if pipelining {
                "250-fixture\r\n250-PIPELINING\r\n250 8BITMIME\r\n".into()
            } else {
                "250-fixture\r\n250 8BITMIME\r\n".into()
            }
        } else if upper.starts_with("MAIL")
            || upper.starts_with("RSET")
            || upper.starts_with("NOOP")
            || upper.starts_with("HELO")
        {
            "250 ok\r\n".into()
        } else if upper.starts_with("RCPT") {
            rcpt = line.split(['<', '>']).nth(1).unwrap_or("").to_owned();
            if pipelining && rcpt.starts_with("refuse-rcpt") {
                rcpt.clear();
                "550 5.1.1 no such mailbox\r\n".into()
            } else {
                "250 ok\r\n".into()
            }
        } else if upper.starts_with("DATA") && rcpt.is_empty() {
            "554 5.5.1 no valid recipients\r\n".into()
        } else if upper.starts_with("DATA") {
            out.write_all(b"354 go ahead\r\n")?;
            loop {
                line.clear();
                if input.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
            }
            if pipelining {
                // Is the next command already here, sent without waiting for this reply? A client
                // that waits sends nothing until it has the reply: the read times out.
                input
                    .get_ref()
                    .set_read_timeout(Some(Duration::from_millis(200)))?;
                if input.fill_buf().is_ok_and(|b| !b.is_empty()) {
                    followed.fetch_add(1, Ordering::SeqCst);
                }
                input.get_ref().set_read_timeout(None)?;
            }
            let attempt = {
                let mut a = attempts.lock().unwrap();
                let n = a.entry(rcpt.clone()).or_insert(0);
                *n += 1;
                *n
            };
            let (code, text) = script(&rcpt, attempt);
            if (200..300).contains(&code) {
                accepted.lock().unwrap().push(rcpt.clone());
            }
            format!("{code} {text}\r\n")
        } else if upper.starts_with("QUIT") {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            "502 not implemented\r\n".into()
        };
        out.write_all(reply.as_bytes())?;
    }
}

//! A local HTTP server standing in for a webhook receiver (PagerDuty's Events API, a Slack
//! incoming webhook): it records every request's path and body and answers each with the next
//! scripted status (then 202), on 127.0.0.1, until dropped.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One request received.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub path: String,
    pub body: serde_json::Value,
}

pub struct RecordingServer {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    stop: Arc<AtomicBool>,
}

impl RecordingServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port on 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_received, thread_script, thread_stop) = (received.clone(), script.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if thread_stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut stream) = stream else { continue };
                let Some((path, body)) = read_request(&mut stream) else { continue };
                let status = thread_script.lock().unwrap().pop_front().unwrap_or(202);
                let body_json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                thread_received.lock().unwrap().push(Received { path, body: body_json });
                let answer = if status < 300 {
                    r#"{"status":"success","message":"Event processed"}"#
                } else {
                    r#"{"status":"error","message":"scripted failure"}"#
                };
                let response = format!(
                    "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = stream.write_all(response.as_bytes());
            }
        });
        Self { url, received, script, stop }
    }

    /// The next requests are answered with these statuses, in order.
    pub fn answer_next_with(&self, statuses: &[u16]) {
        self.script.lock().unwrap().extend(statuses);
    }

    /// Everything received since the last call.
    pub fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}

impl Drop for RecordingServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread so that it sees the flag.
        let _ = std::net::TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<(String, Vec<u8>)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let path = request_line.split_whitespace().nth(1)?.to_owned();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((path, body))
}

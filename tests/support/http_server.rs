//! A local HTTP server on 127.0.0.1 standing in for an app behind its load balancer: answers
//! every request with the status and body it is set to, and counts requests.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct App {
    pub addr: String,
    answer: Arc<Mutex<(u16, String)>>,
    hits: Arc<AtomicUsize>,
}

impl App {
    pub fn start(status: u16, body: &str) -> App {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let app = App {
            addr,
            answer: Arc::new(Mutex::new((status, body.to_string()))),
            hits: Arc::new(AtomicUsize::new(0)),
        };
        let served = app.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    line.clear();
                }
                served.hits.fetch_add(1, Ordering::SeqCst);
                let (status, body) = served.answer.lock().expect("lock").clone();
                let mut out = stream;
                let _ = write!(
                    out,
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        app
    }

    pub fn set(&self, status: u16, body: &str) {
        *self.answer.lock().expect("lock") = (status, body.to_string());
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

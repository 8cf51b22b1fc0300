//! A FAKE registry for the one behaviour the CNCF registry does not have: ECR's immutable tags.
//! It refuses every manifest PUT with ECR's TAG_INVALID error and answers a HEAD of any tag with
//! a fixed digest. Everything else about registries is tested against the real CNCF registry.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

/// Start the fake on 127.0.0.1; returns its `host:port`. It serves until the test process ends.
pub fn immutable_tag_registry(existing_digest: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let digest = existing_digest.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) <= 2 {
                    break;
                }
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let method = request_line.split_whitespace().next().unwrap_or("");
            let response = match method {
                "HEAD" => format!(
                    "HTTP/1.1 200 OK\r\ndocker-content-digest: {digest}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                ),
                "PUT" => {
                    let body = r#"{"errors":[{"code":"TAG_INVALID","message":"The image tag already exists in the repository and cannot be overwritten because the repository is immutable."}]}"#;
                    format!(
                        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                }
                _ => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_string(),
            };
            let mut out = stream;
            let _ = out.write_all(response.as_bytes());
        }
    });
    addr
}

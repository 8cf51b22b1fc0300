//! hello: the example kubeapp. Answers `/healthz` with `ok` and anything else with a greeting.
//! Standard library only, so it links statically and runs in a `scratch` image.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
    let greeting = std::env::var("GREETING").unwrap_or_else(|_| "hello".into());
    let listener = TcpListener::bind(("0.0.0.0", port.parse().unwrap_or(8080)))?;
    eprintln!("hello: listening on :{port}");
    for stream in listener.incoming().flatten() {
        if let Err(e) = answer(stream, &greeting) {
            eprintln!("hello: {e}");
        }
    }
    Ok(())
}

fn answer(stream: TcpStream, greeting: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Drain the headers; the body of a GET is empty.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let body = if path == "/healthz" {
        "ok\n".to_string()
    } else {
        format!("{greeting}\n")
    };
    let mut out = &stream;
    write!(
        out,
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

//! A second local AWS endpoint with IAM authentication on, for what only a real account's
//! checks show: a key it does not know (refused), and a known user whose policies grant nothing
//! (denied). The test starts it on a free 127.0.0.1 port and it stops when dropped.
//!
//! moto checks signatures only after its first `INITIAL_NO_AUTH_ACTION_COUNT` requests; the two
//! let through unchecked create the user and its access key.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct AuthenticatingEndpoint {
    pub url: String,
    /// A user with an access key and no policy: every request of it is denied.
    pub user_key: (String, String),
    server: Child,
}

impl AuthenticatingEndpoint {
    /// Starts `moto_server` (from PATH, as `scripts/test.sh` sets it) with authentication on.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let server = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "2")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server on PATH (scripts/test.sh installs it into .venv and puts it there)");
        let address = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(&address).is_err() {
            assert!(Instant::now() < deadline, "the authenticating moto did not start on {address}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut endpoint =
            AuthenticatingEndpoint { url: format!("http://{address}"), user_key: Default::default(), server };
        iam(&address, "Action=CreateUser&UserName=operator&Version=2010-05-08");
        let created = iam(&address, "Action=CreateAccessKey&UserName=operator&Version=2010-05-08");
        endpoint.user_key = (element(&created, "AccessKeyId"), element(&created, "SecretAccessKey"));
        endpoint
    }
}

impl Drop for AuthenticatingEndpoint {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// An IAM call, one of the unchecked ones (moto routes it by the credential scope's service).
fn iam(address: &str, form: &str) -> String {
    let mut stream = TcpStream::connect(address).expect("connect to the authenticating moto");
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    );
    stream.write_all(request.as_bytes()).expect("send the IAM call");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read the IAM answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{form}: {answer}");
    answer
}

fn element(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = xml.find(&open).map(|at| at + open.len()).unwrap_or_else(|| panic!("no {name} in {xml}"));
    let end = xml[start..].find('<').map(|len| start + len).unwrap_or(xml.len());
    xml[start..end].to_owned()
}

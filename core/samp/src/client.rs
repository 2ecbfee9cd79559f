//! A SAMP client (Standard Profile): registers with the hub its lockfile names, declares
//! metadata and subscriptions, sends, and hands what it receives to a channel.

use crate::value::{Map, SampValue};
use crate::{SampError, lockfile, xmlrpc};
use std::path::Path;
use tokio::sync::mpsc;

/// What the hub delivered to this client.
#[derive(Clone, Debug, PartialEq)]
pub enum Received {
    Notification { sender: String, message: SampValue },
    Call { sender: String, message_id: String, message: SampValue },
    Response { responder: String, tag: String, response: SampValue },
}

pub struct Client {
    hub_url: String,
    key: String,
    pub id: String,
    pub hub_id: String,
    http: reqwest::Client,
}

impl Client {
    /// Registers with the hub of `lockfile`, serves callbacks on a free loopback port and
    /// declares `metadata` and `subscriptions`. What arrives comes out of the receiver.
    pub async fn register(
        lockfile: &Path,
        metadata: Map,
        subscriptions: &[&str],
    ) -> Result<(Client, mpsc::UnboundedReceiver<Received>), SampError> {
        let keys = lockfile::read(lockfile)?;
        let (Some(secret), Some(hub_url)) = (keys.get("samp.secret"), keys.get("samp.hub.xmlrpc.url")) else {
            return Err(SampError::Lockfile(format!("{} names no secret or hub URL", lockfile.display())));
        };
        let http = reqwest::Client::builder().no_proxy().build().map_err(|e| SampError::Io(e.to_string()))?;
        let registered = xmlrpc::call(&http, hub_url, "samp.hub.register", &[SampValue::str(secret.clone())])
            .await
            .map_err(|e| SampError::Io(format!("cannot register with the hub at {hub_url}: {e:?}")))?;
        let text = |key: &str| registered.get(key).and_then(SampValue::as_str).map(str::to_owned);
        let (Some(key), Some(id), Some(hub_id)) = (text("samp.private-key"), text("samp.self-id"), text("samp.hub-id"))
        else {
            return Err(SampError::Io("the hub's registration answer lacks its keys".to_owned()));
        };
        let client = Client { hub_url: hub_url.clone(), key, id, hub_id, http };
        let (sender, receiver) = mpsc::unbounded_channel();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| SampError::Io(e.to_string()))?;
        let callback = format!("http://{}/", listener.local_addr().map_err(|e| SampError::Io(e.to_string()))?);
        let router = axum::Router::new()
            .route("/", axum::routing::post(move |body: String| callback_answer(body, sender.clone())))
            .layer(axum::extract::DefaultBodyLimit::max(xmlrpc::LARGEST_REQUEST));
        tokio::spawn(async move { axum::serve(listener, router).await });
        client.hub("samp.hub.setXmlrpcCallback", vec![SampValue::String(callback)]).await?;
        client.hub("samp.hub.declareMetadata", vec![SampValue::Map(metadata)]).await?;
        let subscriptions: Map = subscriptions.iter().map(|m| ((*m).to_owned(), SampValue::Map(Map::new()))).collect();
        client.hub("samp.hub.declareSubscriptions", vec![SampValue::Map(subscriptions)]).await?;
        Ok((client, receiver))
    }

    /// Calls a hub method with this client's private key first.
    pub async fn hub(&self, method: &str, params: Vec<SampValue>) -> Result<SampValue, SampError> {
        let mut all = Vec::with_capacity(params.len() + 1);
        all.push(SampValue::str(self.key.clone()));
        all.extend(params);
        xmlrpc::call(&self.http, &self.hub_url, method, &all)
            .await
            .map_err(|e| SampError::Io(format!("{method}: {e:?}")))
    }

    pub async fn notify(&self, recipient: &str, message: SampValue) -> Result<(), SampError> {
        self.hub("samp.hub.notify", vec![SampValue::str(recipient), message]).await.map(|_| ())
    }

    pub async fn call_and_wait(
        &self,
        recipient: &str,
        message: SampValue,
        seconds: u32,
    ) -> Result<SampValue, SampError> {
        self.hub(
            "samp.hub.callAndWait",
            vec![SampValue::str(recipient), message, SampValue::String(seconds.to_string())],
        )
        .await
    }

    pub async fn reply(&self, message_id: &str, response: SampValue) -> Result<(), SampError> {
        self.hub("samp.hub.reply", vec![SampValue::str(message_id), response]).await.map(|_| ())
    }

    pub async fn unregister(&self) -> Result<(), SampError> {
        self.hub("samp.hub.unregister", Vec::new()).await.map(|_| ())
    }
}

/// A callback from the hub: passed on, answered at once (SAMP callbacks return nothing).
async fn callback_answer(body: String, sender: mpsc::UnboundedSender<Received>) -> String {
    let Ok((method, params)) = xmlrpc::parse_call(&body) else {
        return xmlrpc::fault(2, "not an XML-RPC call");
    };
    let text = |index: usize| params.get(index).and_then(SampValue::as_str).unwrap_or_default().to_owned();
    let last = params.last().cloned().unwrap_or(SampValue::Map(Map::new()));
    let received = match method.as_str() {
        "samp.client.receiveNotification" => Received::Notification { sender: text(1), message: last },
        "samp.client.receiveCall" => Received::Call { sender: text(1), message_id: text(2), message: last },
        "samp.client.receiveResponse" => Received::Response { responder: text(1), tag: text(2), response: last },
        other => return xmlrpc::fault(1, &format!("no method {other}")),
    };
    let _ = sender.send(received);
    xmlrpc::response(&SampValue::str(""))
}

//! XML-RPC for SAMP, through dxr: calls and answers as [`SampValue`]s, and the hub's calls
//! to clients' callbacks.

use crate::value::{Map, SampValue};
use dxr::{Fault, FaultResponse, MethodCall, MethodResponse, Value};

/// The largest request the hub reads (a message carries table URLs, not tables).
pub const LARGEST_REQUEST: usize = 8 << 20;

impl From<&SampValue> for Value {
    fn from(value: &SampValue) -> Value {
        match value {
            SampValue::String(text) => Value::String(text.clone()),
            SampValue::List(items) => Value::Array(items.iter().map(Value::from).collect()),
            SampValue::Map(map) => Value::Struct(map.iter().map(|(k, v)| (k.clone(), Value::from(v))).collect()),
        }
    }
}

impl From<&Value> for SampValue {
    /// SAMP has strings, lists and maps; other XML-RPC types some clients send (an int, a
    /// boolean) are read as their text.
    fn from(value: &Value) -> SampValue {
        match value {
            Value::String(text) => SampValue::String(text.clone()),
            Value::Array(items) => SampValue::List(items.iter().map(SampValue::from).collect()),
            Value::Struct(members) => {
                SampValue::Map(members.iter().map(|(k, v)| (k.clone(), SampValue::from(v))).collect::<Map>())
            }
            Value::Integer(number) => SampValue::String(number.to_string()),
            Value::Boolean(flag) => SampValue::String(if *flag { "1" } else { "0" }.to_owned()),
            Value::Double(number) => SampValue::String(number.to_string()),
            Value::DateTime(time) => SampValue::String(time.to_string()),
            Value::Base64(bytes) => SampValue::String(String::from_utf8_lossy(bytes).into_owned()),
        }
    }
}

/// A method call's name and parameters.
pub fn parse_call(xml: &str) -> Result<(String, Vec<SampValue>), String> {
    let call = MethodCall::from_xml(xml).map_err(|_| "the XML is not an XML-RPC methodCall".to_owned())?;
    Ok((call.name.into_owned(), call.params.iter().map(SampValue::from).collect()))
}

pub fn call_xml(method: &str, params: &[SampValue]) -> String {
    let call = MethodCall { name: method.into(), params: params.iter().map(Value::from).collect() };
    call.to_xml().unwrap_or_default()
}

pub fn response(value: &SampValue) -> String {
    MethodResponse { value: Value::from(value) }.to_xml().unwrap_or_default()
}

pub fn fault(code: i32, message: &str) -> String {
    FaultResponse { fault: Fault::new(code, message.to_owned()) }.to_xml().unwrap_or_default()
}

/// The answer to a call, or its fault.
pub fn parse_response(xml: &str) -> Result<Result<SampValue, (i32, String)>, String> {
    if let Ok(answer) = MethodResponse::from_xml(xml) {
        return Ok(Ok(SampValue::from(&answer.value)));
    }
    match FaultResponse::from_xml(xml) {
        Ok(fault) => Ok(Err((fault.fault.code(), fault.fault.string().to_owned()))),
        Err(_) => Err("the answer is not an XML-RPC methodResponse".to_owned()),
    }
}

#[derive(Debug)]
pub enum CallError {
    /// Nothing answered there (refused, timed out, not HTTP).
    Unreachable(String),
    /// It answered with a fault, or with something that is not XML-RPC.
    Fault(String),
}

/// Calls `method` at `url` over HTTP POST.
pub async fn call(
    http: &reqwest::Client,
    url: &str,
    method: &str,
    params: &[SampValue],
) -> Result<SampValue, CallError> {
    let response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "text/xml")
        .body(call_xml(method, params))
        .send()
        .await
        .map_err(|e| CallError::Unreachable(e.to_string()))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| CallError::Unreachable(e.to_string()))?;
    if !status.is_success() {
        return Err(CallError::Fault(format!("HTTP {status}")));
    }
    match parse_response(&text) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err((code, message))) => Err(CallError::Fault(format!("fault {code}: {message}"))),
        Err(message) => Err(CallError::Fault(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::map;

    #[test]
    fn calls_and_answers_survive_the_round_trip() {
        let message = map([
            ("samp.mtype", SampValue::str("coord.pointAt.sky")),
            ("samp.params", map([("ra", "83.63".into()), ("dec", "22.01".into())])),
        ]);
        let xml = call_xml("samp.hub.notify", &[SampValue::str("key"), SampValue::str("c2"), message.clone()]);
        let (method, params) = parse_call(&xml).unwrap();
        assert_eq!(method, "samp.hub.notify");
        assert_eq!(params[2], message);
        assert_eq!(parse_response(&response(&message)).unwrap(), Ok(message));
        assert_eq!(parse_response(&fault(1, "no")).unwrap(), Err((1, "no".to_owned())));
        // Untyped values are strings (XML-RPC's default), and other types are read as text.
        let xml = "<?xml version='1.0'?><methodCall><methodName>samp.hub.register</methodName>\
                   <params><param><value>abc</value></param><param><value><int>3</int></value></param></params></methodCall>";
        assert_eq!(parse_call(xml).unwrap().1, vec![SampValue::str("abc"), SampValue::str("3")]);
        assert!(parse_call("<methodCall><oops").is_err());
    }
}

//! The names paved gives things: an app's two cluster slots (colors) and their clusters.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The two cluster slots of an app: `<app>-blue` and `<app>-green`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    Blue,
    Green,
}

impl Color {
    pub fn other(self) -> Color {
        match self {
            Color::Blue => Color::Green,
            Color::Green => Color::Blue,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Color::Blue => "blue",
            Color::Green => "green",
        }
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Color {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "blue" => Ok(Color::Blue),
            "green" => Ok(Color::Green),
            other => Err(format!("`{other}` is not a color: use blue or green")),
        }
    }
}

/// The name of an app's cluster of one color.
pub fn cluster_name(app: &str, color: Color) -> String {
    format!("{app}-{color}")
}

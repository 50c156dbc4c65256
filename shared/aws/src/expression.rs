//! Compiles the port's conditions and updates into DynamoDB expressions with placeholder names
//! and values, so no attribute name or value is ever spliced into expression text.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use fittrack_platform::ports::{Condition, StoreError, Update};

#[derive(Default)]
pub(crate) struct Expression {
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

fn attribute_value(value: &Value) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Invalid(e.to_string()))
}

impl Expression {
    pub fn name(&mut self, attr: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, a)| a.as_str() == attr) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), attr.to_owned());
        placeholder
    }

    pub fn value(&mut self, value: &Value) -> Result<String, StoreError> {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), attribute_value(value)?);
        Ok(placeholder)
    }

    pub fn condition(&mut self, condition: &Condition) -> Result<String, StoreError> {
        let compare = |this: &mut Self, attr: &str, op: &str, value: &Value| -> Result<String, StoreError> {
            Ok(format!("{} {op} {}", this.name(attr), this.value(value)?))
        };
        Ok(match condition {
            Condition::Exists => format!("attribute_exists({})", self.name("pk")),
            Condition::NotExists => format!("attribute_not_exists({})", self.name("pk")),
            Condition::Equals(a, v) => compare(self, a, "=", v)?,
            Condition::LessThan(a, v) => compare(self, a, "<", v)?,
            Condition::GreaterOrEqual(a, v) => compare(self, a, ">=", v)?,
            Condition::AttributeMissing(a) => format!("attribute_not_exists({})", self.name(a)),
            Condition::And(all) | Condition::Or(all) if all.is_empty() => {
                return Err(StoreError::Invalid("empty AND/OR condition".into()));
            }
            Condition::And(all) => self.join(all, " AND ")?,
            Condition::Or(any) => self.join(any, " OR ")?,
        })
    }

    fn join(&mut self, parts: &[Condition], op: &str) -> Result<String, StoreError> {
        let parts = parts.iter().map(|c| self.condition(c)).collect::<Result<Vec<_>, _>>()?;
        Ok(format!("({})", parts.join(op)))
    }

    pub fn update(&mut self, update: &Update) -> Result<String, StoreError> {
        let mut clauses = Vec::new();
        if !update.set.is_empty() {
            let sets = update
                .set
                .iter()
                .map(|(a, v)| Ok(format!("{} = {}", self.name(a), self.value(v)?)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            clauses.push(format!("SET {}", sets.join(", ")));
        }
        if !update.add.is_empty() {
            let adds = update
                .add
                .iter()
                .map(|(a, d)| Ok(format!("{} {}", self.name(a), self.value(&Value::from(*d))?)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            clauses.push(format!("ADD {}", adds.join(", ")));
        }
        if !update.remove.is_empty() {
            let removes = update.remove.iter().map(|a| self.name(a)).collect::<Vec<_>>();
            clauses.push(format!("REMOVE {}", removes.join(", ")));
        }
        Ok(clauses.join(" "))
    }

    pub fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_nested_conditions_with_placeholders_only() {
        let mut e = Expression::default();
        let c = Condition::Or(vec![Condition::NotExists, Condition::less_than("expires_at", 10)]);
        assert_eq!(e.condition(&c).unwrap(), "(attribute_not_exists(#n0) OR #n1 < :v0)");
        assert_eq!(e.names["#n1"], "expires_at");
        assert_eq!(e.values[":v0"], AttributeValue::N("10".into()));
    }

    #[test]
    fn compiles_updates_reusing_names() {
        let mut e = Expression::default();
        let u = Update::new().set("a", "x").add("n", 2).remove("b");
        assert_eq!(e.update(&u).unwrap(), "SET #n0 = :v0 ADD #n1 :v1 REMOVE #n2");
        let mut e = Expression::default();
        assert_eq!(e.condition(&Condition::equals("n", 1)).unwrap(), "#n0 = :v0");
        assert_eq!(e.update(&Update::new().add("n", 1)).unwrap(), "ADD #n0 :v1");
    }
}

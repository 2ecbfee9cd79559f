//! ADQL that Skyglass writes for its users (a table's first rows, the sources in a view,
//! counts per region), with every name written so that any service reads it as the name it
//! gave: a table called `my table` or a column called `select` is delimited (`"my table"`,
//! `"select"`), a plain one left as it is, one already delimited kept. And the reverse: which
//! table a query reads, to name its results.

use crate::translate::translate;
use datafusion::sql::sqlparser::ast::{SetExpr, Statement, TableFactor};

/// A name as ADQL writes it: as it is when it is a regular identifier (a letter, then
/// letters, digits and `_`) and no reserved word; delimited with double quotes otherwise
/// (quotes inside doubled). A name already delimited is kept as given.
pub fn identifier(name: &str) -> String {
    let delimited = name.len() >= 2 && name.starts_with('"') && name.ends_with('"');
    if delimited || (is_regular(name) && !is_reserved(name)) {
        return name.to_owned();
    }
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A table's name as VOSI gives it (`schema.table`, or `table`, or with parts delimited
/// already, as TAP_SCHEMA should give them), each part written by [`identifier`].
pub fn table_name(qualified: &str) -> String {
    if qualified.contains('"') {
        // Delimited by the service as TAP 1.1 asks: already ADQL.
        return qualified.to_owned();
    }
    match qualified.split_once('.') {
        Some((schema, table)) => format!("{}.{}", identifier(schema), identifier(table)),
        None => identifier(qualified),
    }
}

/// Text as an ADQL string literal.
pub fn string_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `1 = CONTAINS(POINT('ICRS', ra, dec), region)`: the rows of a table whose position
/// (columns `ra`, `dec`) is in `region` (an ADQL geometry, such as `CIRCLE(…)`).
pub fn position_in(ra: &str, dec: &str, region: &str) -> String {
    format!("1 = CONTAINS(POINT('ICRS', {}, {}), {region})", identifier(ra), identifier(dec))
}

/// `SELECT TOP n * FROM table [WHERE condition]`, a clause a line, as a user would write it
/// in the editor.
pub fn select_top(limit: u64, table: &str, condition: Option<&str>) -> String {
    let mut adql = format!("SELECT TOP {limit} *\nFROM {}", table_name(table));
    if let Some(condition) = condition {
        adql.push_str("\nWHERE ");
        adql.push_str(condition);
    }
    adql
}

/// The first table a query reads (its outermost FROM), as the query names it; `None` when
/// the query does not parse or reads no table.
pub fn first_table(adql: &str) -> Option<String> {
    let Ok(Statement::Query(query)) = translate(adql) else { return None };
    let mut body = query.body.as_ref();
    // A set operation's rows come from its first operand first.
    while let SetExpr::SetOperation { left, .. } = body {
        body = left.as_ref();
    }
    let SetExpr::Select(select) = body else { return None };
    select.from.iter().find_map(|from| match &from.relation {
        TableFactor::Table { name, .. } => {
            let parts: Vec<String> =
                name.0.iter().filter_map(|part| part.as_ident()).map(|ident| ident.value.clone()).collect();
            (!parts.is_empty()).then(|| parts.join("."))
        }
        _ => None,
    })
}

fn is_regular(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// ADQL 2.1's reserved words: its own and SQL-92's (ADQL 2.1, §2.1.3).
fn is_reserved(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ADQL_RESERVED.binary_search(&upper.as_str()).is_ok() || SQL_RESERVED.binary_search(&upper.as_str()).is_ok()
}

/// Sorted, for binary search.
const ADQL_RESERVED: &[&str] = &[
    "ABS",
    "ACOS",
    "AREA",
    "ASIN",
    "ATAN",
    "ATAN2",
    "BIT_AND",
    "BIT_NOT",
    "BIT_OR",
    "BIT_XOR",
    "BOX",
    "CEILING",
    "CENTROID",
    "CIRCLE",
    "CONTAINS",
    "COORD1",
    "COORD2",
    "COORDSYS",
    "COS",
    "COT",
    "DEGREES",
    "DISTANCE",
    "EXP",
    "FLOOR",
    "ILIKE",
    "INTERSECTS",
    "IN_UNIT",
    "LOG",
    "LOG10",
    "MOD",
    "PI",
    "POINT",
    "POLYGON",
    "POWER",
    "RADIANS",
    "RAND",
    "REGION",
    "ROUND",
    "SIN",
    "SQRT",
    "TAN",
    "TOP",
    "TRUNCATE",
];

/// Sorted, for binary search.
const SQL_RESERVED: &[&str] = &[
    "ABSOLUTE",
    "ACTION",
    "ADD",
    "ALL",
    "ALLOCATE",
    "ALTER",
    "AND",
    "ANY",
    "ARE",
    "AS",
    "ASC",
    "ASSERTION",
    "AT",
    "AUTHORIZATION",
    "AVG",
    "BEGIN",
    "BETWEEN",
    "BIT",
    "BIT_LENGTH",
    "BOTH",
    "BY",
    "CASCADE",
    "CASCADED",
    "CASE",
    "CAST",
    "CATALOG",
    "CHAR",
    "CHARACTER",
    "CHARACTER_LENGTH",
    "CHAR_LENGTH",
    "CHECK",
    "CLOSE",
    "COALESCE",
    "COLLATE",
    "COLLATION",
    "COLUMN",
    "COMMIT",
    "CONNECT",
    "CONNECTION",
    "CONSTRAINT",
    "CONSTRAINTS",
    "CONTINUE",
    "CONVERT",
    "CORRESPONDING",
    "COUNT",
    "CREATE",
    "CROSS",
    "CURRENT",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "CURRENT_USER",
    "CURSOR",
    "DATE",
    "DAY",
    "DEALLOCATE",
    "DEC",
    "DECIMAL",
    "DECLARE",
    "DEFAULT",
    "DEFERRABLE",
    "DEFERRED",
    "DELETE",
    "DESC",
    "DESCRIBE",
    "DESCRIPTOR",
    "DIAGNOSTICS",
    "DISCONNECT",
    "DISTINCT",
    "DOMAIN",
    "DOUBLE",
    "DROP",
    "ELSE",
    "END",
    "END-EXEC",
    "ESCAPE",
    "EXCEPT",
    "EXCEPTION",
    "EXEC",
    "EXECUTE",
    "EXISTS",
    "EXTERNAL",
    "EXTRACT",
    "FALSE",
    "FETCH",
    "FIRST",
    "FLOAT",
    "FOR",
    "FOREIGN",
    "FOUND",
    "FROM",
    "FULL",
    "GET",
    "GLOBAL",
    "GO",
    "GOTO",
    "GRANT",
    "GROUP",
    "HAVING",
    "HOUR",
    "IDENTITY",
    "IMMEDIATE",
    "IN",
    "INDICATOR",
    "INITIALLY",
    "INNER",
    "INPUT",
    "INSENSITIVE",
    "INSERT",
    "INT",
    "INTEGER",
    "INTERSECT",
    "INTERVAL",
    "INTO",
    "IS",
    "ISOLATION",
    "JOIN",
    "KEY",
    "LANGUAGE",
    "LAST",
    "LEADING",
    "LEFT",
    "LEVEL",
    "LIKE",
    "LOCAL",
    "LOWER",
    "MATCH",
    "MAX",
    "MIN",
    "MINUTE",
    "MODULE",
    "MONTH",
    "NAMES",
    "NATIONAL",
    "NATURAL",
    "NCHAR",
    "NEXT",
    "NO",
    "NOT",
    "NULL",
    "NULLIF",
    "NUMERIC",
    "OCTET_LENGTH",
    "OF",
    "ON",
    "ONLY",
    "OPEN",
    "OPTION",
    "OR",
    "ORDER",
    "OUTER",
    "OUTPUT",
    "OVERLAPS",
    "PAD",
    "PARTIAL",
    "POSITION",
    "PRECISION",
    "PREPARE",
    "PRESERVE",
    "PRIMARY",
    "PRIOR",
    "PRIVILEGES",
    "PROCEDURE",
    "PUBLIC",
    "READ",
    "REAL",
    "REFERENCES",
    "RELATIVE",
    "RESTRICT",
    "REVOKE",
    "RIGHT",
    "ROLLBACK",
    "ROWS",
    "SCHEMA",
    "SCROLL",
    "SECOND",
    "SECTION",
    "SELECT",
    "SESSION",
    "SESSION_USER",
    "SET",
    "SIZE",
    "SMALLINT",
    "SOME",
    "SPACE",
    "SQL",
    "SQLCODE",
    "SQLERROR",
    "SQLSTATE",
    "SUBSTRING",
    "SUM",
    "SYSTEM_USER",
    "TABLE",
    "TEMPORARY",
    "THEN",
    "TIME",
    "TIMESTAMP",
    "TIMEZONE_HOUR",
    "TIMEZONE_MINUTE",
    "TO",
    "TRAILING",
    "TRANSACTION",
    "TRANSLATE",
    "TRANSLATION",
    "TRIM",
    "TRUE",
    "UNION",
    "UNIQUE",
    "UNKNOWN",
    "UPDATE",
    "UPPER",
    "USAGE",
    "USER",
    "USING",
    "VALUE",
    "VALUES",
    "VARCHAR",
    "VARYING",
    "VIEW",
    "WHEN",
    "WHENEVER",
    "WHERE",
    "WITH",
    "WORK",
    "WRITE",
    "YEAR",
    "ZONE",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn check_identifier(name: &str, expected: &str) {
        assert_eq!(identifier(name), expected, "{name:?}");
    }

    #[test]
    fn the_reserved_word_lists_are_sorted() {
        assert!(ADQL_RESERVED.windows(2).all(|w| w[0] < w[1]));
        assert!(SQL_RESERVED.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn names_are_delimited_only_where_adql_needs_it() {
        check_identifier("hipparcos", "hipparcos");
        check_identifier("RAJ2000", "RAJ2000");
        check_identifier("select", "\"select\"");
        check_identifier("Distance", "\"Distance\"");
        check_identifier("my table", "\"my table\"");
        check_identifier("2mass", "\"2mass\"");
        check_identifier("say \"hi\"", "\"say \"\"hi\"\"\"");
        check_identifier("\"already\"", "\"already\"");
        check_identifier("Δα", "\"Δα\"");
    }

    #[test]
    fn qualified_names_are_written_part_by_part() {
        assert_eq!(table_name("catalogs.hipparcos"), "catalogs.hipparcos");
        assert_eq!(table_name("catalogs.select"), "catalogs.\"select\"");
        assert_eq!(table_name("public.stars"), "\"public\".stars");
        assert_eq!(table_name("my schema.my table"), "\"my schema\".\"my table\"");
        assert_eq!(table_name("\"My Schema\".\"t\""), "\"My Schema\".\"t\"");
        assert_eq!(string_literal("O'Brien"), "'O''Brien'");
    }

    #[test]
    fn queries_built_for_awkward_names_parse_and_read_those_names() {
        let cone = position_in("select", "dec", "CIRCLE('ICRS', 10, 20, 1)");
        let adql = select_top(100, "my schema.my table", Some(&cone));
        assert_eq!(
            adql,
            "SELECT TOP 100 *\nFROM \"my schema\".\"my table\"\nWHERE 1 = CONTAINS(POINT('ICRS', \"select\", \"dec\"), \
             CIRCLE('ICRS', 10, 20, 1))"
        );
        assert!(translate(&adql).is_ok(), "{adql}");
        assert_eq!(first_table(&adql).as_deref(), Some("my schema.my table"));
    }

    #[test]
    fn the_first_table_is_the_one_queried() {
        assert_eq!(
            first_table("SELECT TOP 5 * FROM catalogs.hipparcos WHERE hpmag < 2").as_deref(),
            Some("catalogs.hipparcos")
        );
        let join = "SELECT a.ra FROM gaia.dr3 AS a JOIN catalogs.hipparcos AS b ON a.id = b.hip";
        assert_eq!(first_table(join).as_deref(), Some("gaia.dr3"));
        assert_eq!(first_table("SELECT 1").as_deref(), None);
        assert_eq!(first_table("not a query").as_deref(), None);
    }
}

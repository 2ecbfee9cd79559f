//! ADQL text to a SQL statement DataFusion plans: parsed by sqlparser, checked (one SELECT,
//! nothing that writes), and rewritten where ADQL and DataFusion's SQL differ.

use crate::geometry::{
    AREA, DISTANCE, IN_BOX, IN_CIRCLE, IN_POLYGON, REGIONS, RELATION_CONTAINS, RELATION_INTERSECTS, SHAPE_BOX,
    SHAPE_CIRCLE, SHAPE_POLYGON,
};
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident,
    LimitClause, ObjectName, ObjectNamePart, Query, SelectItem, SetExpr, Statement, TopQuantity, UnaryOperator, Value,
    ValueWithSpan, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use std::ops::ControlFlow;

/// Why an ADQL query cannot run; the message says what and, for syntax, where.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AdqlError {
    #[error("ADQL syntax error: {0}")]
    Syntax(String),
    #[error("only SELECT queries run here, not {0}")]
    NotSelect(String),
    #[error("one query at a time: found {0} statements")]
    SeveralStatements(usize),
    #[error("{0}")]
    Unsupported(String),
}

/// Parses and checks one ADQL query and rewrites it for DataFusion.
pub fn translate(adql: &str) -> Result<Statement, AdqlError> {
    let mut statements = Parser::parse_sql(&GenericDialect {}, adql)
        .map_err(|error| AdqlError::Syntax(clean_parser_error(&error.to_string())))?;
    if statements.len() != 1 {
        return Err(AdqlError::SeveralStatements(statements.len()));
    }
    let mut statement = statements.remove(0);
    let Statement::Query(query) = &statement else {
        let kind = statement.to_string().split_whitespace().next().unwrap_or("that").to_uppercase();
        return Err(AdqlError::NotSelect(kind));
    };
    check_query(query)?;
    if let Statement::Query(query) = &mut statement {
        name_result_columns(&mut query.body);
    }
    let mut rewriter = Rewriter { error: None };
    let _ = statement.visit(&mut rewriter);
    if let Some(error) = rewriter.error {
        return Err(error);
    }
    Ok(statement)
}

fn clean_parser_error(message: &str) -> String {
    let message = message.trim_start_matches("sql parser error: ");
    if message.ends_with("found: EOF") {
        return format!("{message} (the query ends too soon)");
    }
    message.to_owned()
}

/// Result columns that are expressions get plain names from the ADQL as written (`count`,
/// `distance`, `in_unit`, `expr`), made unique; otherwise the engine would name them after
/// its own rendering of the expression, such as `count(Int64(1))`, and two casts of one
/// column would clash.
fn name_result_columns(body: &mut SetExpr) {
    let select = match body {
        SetExpr::Select(select) => select,
        SetExpr::Query(query) => return name_result_columns(&mut query.body),
        // The first SELECT names a set operation's columns.
        SetExpr::SetOperation { left, .. } => return name_result_columns(left),
        _ => return,
    };
    let mut taken: Vec<String> = select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::UnnamedExpr(Expr::Identifier(ident)) => Some(ident.value.to_lowercase()),
            SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => parts.last().map(|i| i.value.to_lowercase()),
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.to_lowercase()),
            _ => None,
        })
        .collect();
    for item in &mut select.projection {
        let SelectItem::UnnamedExpr(expr) = item else { continue };
        if matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
            continue;
        }
        let base = expression_name(expr);
        let mut name = base.clone();
        let mut n = 1;
        while taken.contains(&name) {
            n += 1;
            name = format!("{base}_{n}");
        }
        taken.push(name.clone());
        *item = SelectItem::ExprWithAlias { expr: expr.clone(), alias: Ident::new(name) };
    }
}

fn expression_name(expr: &Expr) -> String {
    match expr {
        Expr::Function(function) => match function.name.0.last() {
            Some(ObjectNamePart::Identifier(ident)) => ident.value.to_lowercase(),
            _ => "expr".into(),
        },
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => expression_name(inner),
        Expr::Floor { .. } => "floor".into(),
        Expr::Ceil { .. } => "ceiling".into(),
        Expr::Identifier(ident) => ident.value.to_lowercase(),
        Expr::CompoundIdentifier(parts) => parts.last().map_or_else(|| "expr".into(), |i| i.value.to_lowercase()),
        _ => "expr".into(),
    }
}

fn check_query(query: &Query) -> Result<(), AdqlError> {
    if let SetExpr::Select(select) = query.body.as_ref()
        && select.into.is_some()
    {
        return Err(AdqlError::NotSelect("SELECT … INTO".into()));
    }
    if !matches!(query.body.as_ref(), SetExpr::Select(_) | SetExpr::Query(_) | SetExpr::SetOperation { .. }) {
        return Err(AdqlError::NotSelect("a statement other than SELECT".into()));
    }
    Ok(())
}

struct Rewriter {
    error: Option<AdqlError>,
}

impl VisitorMut for Rewriter {
    type Break = ();

    /// TOP n becomes LIMIT n, in every (sub)query.
    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let SetExpr::Select(select) = query.body.as_mut()
            && let Some(top) = select.top.take()
        {
            let quantity = match top.quantity {
                Some(TopQuantity::Constant(n)) => Expr::value(Value::Number(n.to_string(), false)),
                Some(TopQuantity::Expr(expr)) => expr,
                None => return ControlFlow::Continue(()),
            };
            // ADQL allows TOP together with OFFSET; the parser has then already made a limit
            // clause holding only the offset.
            match &mut query.limit_clause {
                None => {
                    query.limit_clause =
                        Some(LimitClause::LimitOffset { limit: Some(quantity), offset: None, limit_by: vec![] });
                }
                Some(LimitClause::LimitOffset { limit: limit @ None, .. }) => *limit = Some(quantity),
                Some(_) => {}
            }
        }
        ControlFlow::Continue(())
    }

    /// Geometry functions are rewritten before their arguments are visited: the POINTs and
    /// CIRCLEs inside them become plain numbers.
    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let Expr::Function(function) = expr else { return ControlFlow::Continue(()) };
        if !GEOMETRY_USERS.contains(&function_name(function).as_str()) {
            return ControlFlow::Continue(());
        }
        self.apply(expr)
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        match expr {
            // ADQL 2.1's hexadecimal literals (0xFF) are integers; the parser reads them as
            // binary strings.
            Expr::Value(ValueWithSpan { value: Value::HexStringLiteral(digits), .. }) => {
                let Ok(number) = i64::from_str_radix(digits, 16) else {
                    self.error = Some(AdqlError::Unsupported(format!("0x{digits} does not fit in 64 bits")));
                    return ControlFlow::Break(());
                };
                *expr = Expr::value(Value::Number(number.to_string(), false));
                ControlFlow::Continue(())
            }
            // ~x is -x - 1 in two's complement; DataFusion has no bitwise NOT.
            Expr::UnaryOp { op: UnaryOperator::BitwiseNot, expr: operand } => {
                let negated = Expr::UnaryOp { op: UnaryOperator::Minus, expr: Box::new(Expr::Nested(operand.clone())) };
                *expr = Expr::Nested(Box::new(Expr::BinaryOp {
                    left: Box::new(negated),
                    op: BinaryOperator::Minus,
                    right: Box::new(Expr::value(Value::Number("1".into(), false))),
                }));
                ControlFlow::Continue(())
            }
            _ => self.apply(expr),
        }
    }
}

/// The functions that take geometries as arguments.
const GEOMETRY_USERS: &[&str] = &["CONTAINS", "INTERSECTS", "DISTANCE", "COORD1", "COORD2", "AREA"];

impl Rewriter {
    fn apply(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let Expr::Function(function) = expr else { return ControlFlow::Continue(()) };
        match rewrite_function(function) {
            Ok(Some(replacement)) => *expr = replacement,
            Ok(None) => {}
            Err(error) => {
                self.error = Some(error);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

fn function_name(function: &Function) -> String {
    function.name.to_string().to_ascii_uppercase()
}

fn arguments(function: &Function) -> Vec<Expr> {
    let FunctionArguments::List(list) = &function.args else { return Vec::new() };
    list.args
        .iter()
        .filter_map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => Some(expr.clone()),
            _ => None,
        })
        .collect()
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args.into_iter().map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e))).collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

fn as_float(expr: Expr) -> Expr {
    Expr::Cast {
        kind: datafusion::sql::sqlparser::ast::CastKind::Cast,
        expr: Box::new(expr),
        data_type: datafusion::sql::sqlparser::ast::DataType::Double(
            datafusion::sql::sqlparser::ast::ExactNumberInfo::None,
        ),
        array: false,
        format: None,
    }
}

/// The numbers of a geometry constructor, its coordinate-system string (ADQL 2.0) dropped.
fn geometry_numbers(kind: &str, expr: &Expr) -> Option<Vec<Expr>> {
    let Expr::Function(function) = expr else { return None };
    if function_name(function) != kind {
        return None;
    }
    let mut args = arguments(function);
    if let Some(Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(_), .. })) = args.first() {
        args.remove(0);
    }
    // ADQL 2.1 also writes CIRCLE(POINT(ra, dec), r).
    let mut flat = Vec::with_capacity(args.len());
    for arg in args {
        match geometry_numbers("POINT", &arg) {
            Some(point) => flat.extend(point),
            None => flat.push(arg),
        }
    }
    Some(flat.into_iter().map(as_float).collect())
}

const GEOMETRY_VALUES: &str = "geometry values (POINT, CIRCLE, BOX, POLYGON) can be used inside CONTAINS, \
                               INTERSECTS, DISTANCE, COORD1, COORD2 and AREA only";

fn rewrite_function(function: &Function) -> Result<Option<Expr>, AdqlError> {
    let name = function_name(function);
    let args = arguments(function);
    let replacement = match name.as_str() {
        // ADQL's LOG is the natural logarithm; DataFusion's is base 10.
        "LOG" if args.len() == 1 => call("ln", args),
        "CEILING" => call("ceil", args),
        "SIGN" => call("signum", args),
        "TRUNCATE" => call("trunc", args),
        "RAND" => call("random", vec![]),
        "MOD" if args.len() == 2 => {
            let mut args = args.into_iter();
            let (left, right) = (args.next(), args.next());
            match (left, right) {
                (Some(left), Some(right)) => Expr::Nested(Box::new(Expr::BinaryOp {
                    left: Box::new(left),
                    op: BinaryOperator::Modulo,
                    right: Box::new(right),
                })),
                _ => return Ok(None),
            }
        }
        "DISTANCE" => match args.as_slice() {
            [a, b] => match (geometry_numbers("POINT", a), geometry_numbers("POINT", b)) {
                (Some(mut p), Some(q)) if p.len() == 2 && q.len() == 2 => {
                    p.extend(q);
                    call(DISTANCE, p)
                }
                _ => return Err(AdqlError::Unsupported("DISTANCE takes two POINTs or four numbers".into())),
            },
            [_, _, _, _] => call(DISTANCE, args.into_iter().map(as_float).collect()),
            _ => return Err(AdqlError::Unsupported("DISTANCE takes two POINTs or four numbers".into())),
        },
        "CONTAINS" | "INTERSECTS" => {
            let [first, second] = args.as_slice() else {
                return Err(AdqlError::Unsupported(format!("{name} takes two geometries")));
            };
            // A point in a region has functions of its own (the common, fast case), and
            // INTERSECTS(POINT, region) is CONTAINS(POINT, region), in either order.
            let point_in = match (geometry_numbers("POINT", first), geometry_numbers("POINT", second)) {
                (Some(point), _) => Some((point, second)),
                (None, Some(point)) if name == "INTERSECTS" => Some((point, first)),
                _ => None,
            };
            match point_in {
                Some((point, region)) => point_in_region(&name, point, region)?,
                None => {
                    let (shape_a, a) = region_numbers(&name, first)?;
                    let (shape_b, b) = region_numbers(&name, second)?;
                    let relation = if name == "CONTAINS" { RELATION_CONTAINS } else { RELATION_INTERSECTS };
                    let mut args = vec![float(relation), float(shape_a), float(a.len() as f64), float(shape_b)];
                    args.extend(a);
                    args.extend(b);
                    call(REGIONS, args)
                }
            }
        }
        "COORD1" | "COORD2" => match args.as_slice() {
            [point] => match geometry_numbers("POINT", point) {
                Some(numbers) if numbers.len() == 2 => numbers[usize::from(name == "COORD2")].clone(),
                _ => return Err(AdqlError::Unsupported(format!("{name} takes a POINT"))),
            },
            _ => return Err(AdqlError::Unsupported(format!("{name} takes a POINT"))),
        },
        "AREA" => match args.as_slice() {
            [region] => {
                let (shape, numbers) = region_numbers("AREA", region)?;
                let mut args = vec![float(shape)];
                args.extend(numbers);
                call(AREA, args)
            }
            _ => return Err(AdqlError::Unsupported("AREA takes one geometry".into())),
        },
        "POINT" | "CIRCLE" | "BOX" | "POLYGON" => return Err(AdqlError::Unsupported(GEOMETRY_VALUES.into())),
        _ => return Ok(None),
    };
    Ok(Some(replacement))
}

fn float(value: f64) -> Expr {
    as_float(Expr::value(Value::Number(value.to_string(), false)))
}

/// A point in a CIRCLE, BOX, POLYGON or (coinciding with) a POINT.
fn point_in_region(name: &str, point: Vec<Expr>, region: &Expr) -> Result<Expr, AdqlError> {
    if point.len() != 2 {
        return Err(AdqlError::Unsupported("POINT takes two numbers".into()));
    }
    let region_call = |kind: &str, function: &str, count: Option<usize>| {
        let numbers = geometry_numbers(kind, region)?;
        if count.is_some_and(|n| numbers.len() != n) {
            return None;
        }
        let mut args = point.clone();
        args.extend(numbers);
        Some(call(function, args))
    };
    region_call("CIRCLE", IN_CIRCLE, Some(3))
        .or_else(|| region_call("BOX", IN_BOX, Some(4)))
        .or_else(|| region_call("POLYGON", IN_POLYGON, None))
        .or_else(|| region_call("POINT", IN_CIRCLE, Some(2)).map(|_| zero_radius_circle(&point, region)))
        .ok_or_else(|| AdqlError::Unsupported(format!("{name}: the region must be a CIRCLE, BOX or POLYGON")))
}

/// A region argument as a shape code and its numbers; a POINT is a circle of radius 0.
fn region_numbers(name: &str, region: &Expr) -> Result<(f64, Vec<Expr>), AdqlError> {
    let wrong = || AdqlError::Unsupported(format!("{name} takes regions: POINT, CIRCLE, BOX or POLYGON"));
    if let Some(mut numbers) = geometry_numbers("POINT", region) {
        if numbers.len() != 2 {
            return Err(AdqlError::Unsupported("POINT takes two numbers".into()));
        }
        numbers.push(float(0.0));
        return Ok((SHAPE_CIRCLE, numbers));
    }
    for (kind, shape, count) in
        [("CIRCLE", SHAPE_CIRCLE, Some(3)), ("BOX", SHAPE_BOX, Some(4)), ("POLYGON", SHAPE_POLYGON, None)]
    {
        if let Some(numbers) = geometry_numbers(kind, region) {
            let fits = match count {
                Some(n) => numbers.len() == n,
                None => numbers.len() >= 6 && numbers.len().is_multiple_of(2),
            };
            if !fits {
                return Err(AdqlError::Unsupported(match count {
                    Some(n) => format!("{kind} takes {n} numbers (or a POINT and the rest)"),
                    None => "POLYGON takes at least three vertices".into(),
                }));
            }
            return Ok((shape, numbers));
        }
    }
    Err(wrong())
}

/// CONTAINS(POINT, POINT): 1 where they coincide.
fn zero_radius_circle(point: &[Expr], other: &Expr) -> Expr {
    let mut args = point.to_vec();
    args.extend(geometry_numbers("POINT", other).unwrap_or_default());
    args.push(Expr::value(Value::Number("0".into(), false)));
    call(IN_CIRCLE, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(adql: &str) -> String {
        translate(adql).unwrap_or_else(|e| panic!("{adql}: {e}")).to_string()
    }

    #[test]
    fn top_becomes_limit() {
        assert_eq!(sql("SELECT TOP 10 ra, dec FROM hip"), "SELECT ra, dec FROM hip LIMIT 10");
        assert_eq!(sql("SELECT * FROM (SELECT TOP 5 * FROM a) AS t"), "SELECT * FROM (SELECT * FROM a LIMIT 5) AS t");
        assert_eq!(
            sql("SELECT TOP 3 hip FROM hip ORDER BY hip OFFSET 10"),
            "SELECT hip FROM hip ORDER BY hip LIMIT 3 OFFSET 10"
        );
    }

    #[test]
    fn geometry_becomes_vectorised_functions() {
        let translated =
            sql("SELECT * FROM hip WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 10, 20, 0.5))");
        assert!(
            translated.contains("adql_in_circle(CAST(ra AS DOUBLE), CAST(dec AS DOUBLE), CAST(10 AS DOUBLE)"),
            "{translated}"
        );
        let translated = sql("SELECT DISTANCE(POINT(ra, dec), POINT(1, 2)) AS d FROM t");
        assert!(translated.contains("adql_distance("), "{translated}");
        assert!(sql("SELECT COORD2(POINT(ra, dec)) FROM t").starts_with("SELECT CAST(dec AS DOUBLE)"));
        assert_eq!(sql("SELECT LOG(x), MOD(a, 3) FROM t"), "SELECT ln(x) AS log, (a % 3) AS mod FROM t");
    }

    #[test]
    fn only_one_select_runs() {
        for (adql, expected) in [
            ("DELETE FROM hip", "only SELECT"),
            ("DROP TABLE hip", "only SELECT"),
            ("INSERT INTO hip VALUES (1)", "only SELECT"),
            ("SELECT 1; SELECT 2", "one query at a time"),
            ("SELEC ra FROM hip", "syntax error"),
            ("SELECT POINT(1, 2) FROM t", "geometry values"),
        ] {
            let error = translate(adql).unwrap_err().to_string();
            assert!(error.contains(expected), "{adql}: {error}");
        }
        let error = translate("SELECT ra FRM hip").unwrap_err().to_string();
        assert!(error.contains("Line: 1, Column: 15"), "{error}");
        let error = translate("SELECT ra FROM hip WHERE").unwrap_err().to_string();
        assert!(error.contains("ends too soon"), "{error}");
    }
}

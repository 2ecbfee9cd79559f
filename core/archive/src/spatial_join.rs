//! The ADQL crossmatch idioms run by the crossmatch kernel, never as a nested loop.
//!
//! `JOIN b ON 1 = CONTAINS(POINT(a.ra, a.dec), CIRCLE(b.ra, b.dec, r))` and
//! `DISTANCE(POINT(a.ra, a.dec), POINT(b.ra, b.dec)) < r` (also written in WHERE, with
//! INTERSECTS, or the four-number DISTANCE) reach DataFusion as an inner join whose filter
//! holds `adql_in_circle(…) = 1` or `adql_distance(…) < r`, the radius a constant or an
//! expression of one input's columns (an error radius per row). The
//! optimizer rule here puts a [`SkyJoin`] in that join's place: its two inputs are matched
//! by `skyglass_xmatch` (zones, every core) and the join's whole filter still runs on the
//! pairs found, so the result is exactly what the nested loop would give.

use arrow_array::{RecordBatch, UInt64Array};
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNodeRecursion};
use datafusion::common::{DFSchemaRef, DataFusionError, Result, ScalarValue};
use datafusion::execution::context::{QueryPlanner, SessionContext};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{
    BinaryExpr, Expr, Extension, Filter, JoinType, LogicalPlan, Operator, UserDefinedLogicalNode,
    UserDefinedLogicalNodeCore,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties, ReplaceChildrenOptions,
};
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};
use datafusion::prelude::SessionConfig;
use std::fmt;
use std::sync::Arc;

/// A session that runs translated ADQL: the ADQL functions, and crossmatch joins planned
/// as [`SkyJoin`]s.
pub fn adql_session(config: SessionConfig) -> SessionContext {
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_optimizer_rule(Arc::new(SkyJoinRule))
        .with_query_planner(Arc::new(SkyJoinQueryPlanner))
        .build();
    let ctx = SessionContext::new_with_state(state);
    for udf in skyglass_adql::functions() {
        ctx.register_udf(udf);
    }
    ctx
}

/// Rows per output batch.
const BATCH_ROWS: usize = 8192;

/// An inner join of two inputs on sky distance: the pairs whose points are within `radius`
/// degrees. The join's filter stays above it, so the radius only has to reach far enough.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SkyJoin {
    left: LogicalPlan,
    right: LogicalPlan,
    /// RA and Dec (degrees) of the left input's rows, then of the right's, then the radius
    /// expression when it is not a constant.
    points: Vec<Expr>,
    reach: Reach,
    schema: DFSchemaRef,
}

/// How far pairs may be apart, in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd)]
enum Reach {
    /// A constant, as f64 bits (the node must be `Eq` and `Hash`).
    Constant(u64),
    /// Per row of the left input: the fifth expression, of its columns.
    Left,
    /// Per row of the right input.
    Right,
}

// The schema follows from the inputs, so it takes no part in the order.
impl PartialOrd for SkyJoin {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        (&self.left, &self.right, &self.points, self.reach).partial_cmp(&(
            &other.left,
            &other.right,
            &other.points,
            other.reach,
        ))
    }
}

impl Reach {
    fn describe(self) -> String {
        match self {
            Reach::Constant(bits) => format!("{}°", f64::from_bits(bits)),
            Reach::Left => "per left row".to_owned(),
            Reach::Right => "per right row".to_owned(),
        }
    }
}

impl UserDefinedLogicalNodeCore for SkyJoin {
    fn name(&self) -> &str {
        "SkyJoin"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.left, &self.right]
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        self.points.clone()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "SkyJoin: radius={}, points=[{}]",
            self.reach.describe(),
            self.points.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", ")
        )
    }

    fn with_exprs_and_inputs(&self, exprs: Vec<Expr>, mut inputs: Vec<LogicalPlan>) -> Result<Self> {
        let expressions = if matches!(self.reach, Reach::Constant(_)) { 4 } else { 5 };
        if exprs.len() != expressions || inputs.len() != 2 {
            return Err(DataFusionError::Internal("SkyJoin takes two inputs and its expressions".into()));
        }
        let right = inputs.remove(1);
        let left = inputs.remove(0);
        let schema =
            Arc::new(datafusion::logical_expr::build_join_schema(left.schema(), right.schema(), &JoinType::Inner)?);
        Ok(SkyJoin { left, right, points: exprs, reach: self.reach, schema })
    }
}

/// Finds crossmatch joins and plans them as [`SkyJoin`]s.
#[derive(Debug)]
struct SkyJoinRule;

impl OptimizerRule for SkyJoinRule {
    fn name(&self) -> &str {
        "sky_join"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(&self, plan: LogicalPlan, _config: &dyn OptimizerConfig) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Join(join) = &plan else { return Ok(Transformed::no(plan)) };
        let Some(filter) = join.filter.as_ref().filter(|_| join.join_type == JoinType::Inner && join.on.is_empty())
        else {
            return Ok(Transformed::no(plan));
        };
        let side_of = |exprs: &[&Expr]| -> Option<bool> {
            let columns: Vec<_> = exprs.iter().flat_map(|e| e.column_refs()).collect();
            if columns.is_empty() {
                None
            } else if columns.iter().all(|c| join.left.schema().has_column(c)) {
                Some(true)
            } else if columns.iter().all(|c| join.right.schema().has_column(c)) {
                Some(false)
            } else {
                None
            }
        };
        let found = split_conjunction(filter).into_iter().find_map(|conjunct| {
            let (first, second, radius) = sky_predicate(conjunct)?;
            let (left_point, right_point) =
                match (side_of(&[&first[0], &first[1]])?, side_of(&[&second[0], &second[1]])?) {
                    (true, false) => (first, second),
                    (false, true) => (second, first),
                    _ => return None,
                };
            // A little reach to spare: the filter above decides the pairs at the boundary.
            let reach = match constant(&radius) {
                Some(degrees) if degrees.is_finite() && degrees >= 0.0 => {
                    Reach::Constant((degrees * (1.0 + 1e-9) + 1e-12).to_bits())
                }
                Some(_) => return None,
                None if side_of(&[&radius])? => Reach::Left,
                None => Reach::Right,
            };
            let mut points: Vec<Expr> = left_point.into_iter().chain(right_point).collect();
            if !matches!(reach, Reach::Constant(_)) {
                points.push(radius);
            }
            Some((points, reach))
        });
        let Some((points, reach)) = found else { return Ok(Transformed::no(plan)) };
        let node = SkyJoin {
            left: join.left.as_ref().clone(),
            right: join.right.as_ref().clone(),
            points,
            reach,
            schema: join.schema.clone(),
        };
        let matched = LogicalPlan::Extension(Extension { node: Arc::new(node) });
        let filtered = Filter::try_new(filter.clone(), Arc::new(matched))?;
        Ok(Transformed::yes(LogicalPlan::Filter(filtered)))
    }
}

/// `adql_in_circle(p, q, r) = 1`, `adql_distance(p, q) < r` or `<= r` (either way round):
/// the two points and the radius (degrees).
fn sky_predicate(expr: &Expr) -> Option<([Expr; 2], [Expr; 2], Expr)> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = expr else { return None };
    let call = |expr: &Expr, name: &str, arity: usize| -> Option<Vec<Expr>> {
        match without_casts(expr) {
            Expr::ScalarFunction(function) if function.func.name() == name && function.args.len() == arity => {
                Some(function.args.clone())
            }
            _ => None,
        }
    };
    let points = |args: &[Expr]| -> ([Expr; 2], [Expr; 2]) {
        ([args[0].clone(), args[1].clone()], [args[2].clone(), args[3].clone()])
    };
    let in_circle = |call_side: &Expr, one: &Expr| -> Option<([Expr; 2], [Expr; 2], Expr)> {
        let args = call(call_side, skyglass_adql::geometry::IN_CIRCLE, 5)?;
        if constant(one)? != 1.0 {
            return None;
        }
        let (p, q) = points(&args);
        Some((p, q, args[4].clone()))
    };
    let distance = |call_side: &Expr, radius: &Expr| -> Option<([Expr; 2], [Expr; 2], Expr)> {
        let args = call(call_side, skyglass_adql::geometry::DISTANCE, 4)?;
        let (p, q) = points(&args);
        Some((p, q, radius.clone()))
    };
    match op {
        Operator::Eq => in_circle(left, right).or_else(|| in_circle(right, left)),
        Operator::Lt | Operator::LtEq => distance(left, right),
        Operator::Gt | Operator::GtEq => distance(right, left),
        _ => None,
    }
}

fn without_casts(expr: &Expr) -> &Expr {
    match expr {
        Expr::Cast(cast) => without_casts(&cast.expr),
        Expr::TryCast(cast) => without_casts(&cast.expr),
        _ => expr,
    }
}

/// A numeric literal (through casts) as f64.
fn constant(expr: &Expr) -> Option<f64> {
    match without_casts(expr) {
        Expr::Literal(value, _) => match value.cast_to(&arrow_schema::DataType::Float64).ok()? {
            ScalarValue::Float64(Some(number)) => Some(number),
            _ => None,
        },
        _ => None,
    }
}

#[derive(Debug)]
struct SkyJoinQueryPlanner;

#[async_trait::async_trait]
impl QueryPlanner for SkyJoinQueryPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        DefaultPhysicalPlanner::with_extension_planners(vec![Arc::new(SkyJoinPlanner)])
            .create_physical_plan(logical_plan, session)
            .await
    }
}

struct SkyJoinPlanner;

#[async_trait::async_trait]
impl ExtensionPlanner for SkyJoinPlanner {
    async fn plan_extension(
        &self,
        planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        session: &dyn Session,
        planning_ctx: &PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(join) = node.as_any().downcast_ref::<SkyJoin>() else { return Ok(None) };
        let (Some(left), Some(right)) = (logical_inputs.first(), logical_inputs.get(1)) else {
            return Err(DataFusionError::Internal("SkyJoin has two inputs".into()));
        };
        let physical = |expr: &Expr, input: &LogicalPlan| {
            planner.create_physical_expr(expr, input.schema(), session, planning_ctx)
        };
        let mut points = vec![
            physical(&join.points[0], left)?,
            physical(&join.points[1], left)?,
            physical(&join.points[2], right)?,
            physical(&join.points[3], right)?,
        ];
        match join.reach {
            Reach::Left => points.push(physical(&join.points[4], left)?),
            Reach::Right => points.push(physical(&join.points[4], right)?),
            Reach::Constant(_) => {}
        }
        let schema = Arc::new(join.schema.as_arrow().clone());
        Ok(Some(Arc::new(SkyJoinExec::new(
            physical_inputs[0].clone(),
            physical_inputs[1].clone(),
            points,
            join.reach,
            schema,
        ))))
    }
}

/// Executes a [`SkyJoin`]: both inputs collected, their points matched by the kernel, and
/// the pairs' rows taken from each side, a batch at a time.
#[derive(Debug)]
struct SkyJoinExec {
    left: Arc<dyn ExecutionPlan>,
    right: Arc<dyn ExecutionPlan>,
    points: Vec<Arc<dyn PhysicalExpr>>,
    reach: Reach,
    properties: Arc<PlanProperties>,
}

impl SkyJoinExec {
    fn new(
        left: Arc<dyn ExecutionPlan>,
        right: Arc<dyn ExecutionPlan>,
        points: Vec<Arc<dyn PhysicalExpr>>,
        reach: Reach,
        schema: arrow_schema::SchemaRef,
    ) -> SkyJoinExec {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        SkyJoinExec { left, right, points, reach, properties: Arc::new(properties) }
    }
}

impl DisplayAs for SkyJoinExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "SkyJoinExec: radius={}", self.reach.describe())
    }
}

impl ExecutionPlan for SkyJoinExec {
    fn name(&self) -> &str {
        "SkyJoinExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.left, &self.right]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        for expr in &self.points {
            if f(expr)? == TreeNodeRecursion::Stop {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 2 {
            return Err(DataFusionError::Internal("SkyJoinExec takes two children".into()));
        }
        let right = children.remove(1);
        let left = children.remove(0);
        Ok(Arc::new(SkyJoinExec::new(left, right, self.points.clone(), self.reach, self.schema())))
    }

    #[allow(deprecated)]
    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(datafusion::physical_plan::ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(&self, _partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let (left, right, points, reach, schema) =
            (self.left.clone(), self.right.clone(), self.points.clone(), self.reach, self.schema());
        let output_schema = schema.clone();
        let pairs = async move {
            let left_batch = collect_one(left, context.clone()).await?;
            let right_batch = collect_one(right, context).await?;
            let left_points = [evaluate(&points[0], &left_batch)?, evaluate(&points[1], &left_batch)?];
            let right_points = [evaluate(&points[2], &right_batch)?, evaluate(&points[3], &right_batch)?];
            // Per-row radii, with a little reach to spare as for constants.
            let radii = match reach {
                Reach::Constant(_) => None,
                Reach::Left => Some(evaluate(&points[4], &left_batch)?),
                Reach::Right => Some(evaluate(&points[4], &right_batch)?),
            }
            .map(|radii| {
                radii.iter().map(|r| r.map(|r| r * (1.0 + 1e-9) + 1e-12)).collect::<arrow_array::Float64Array>()
            });
            let matches = tokio::task::spawn_blocking(move || {
                let radius = match reach {
                    Reach::Constant(bits) => skyglass_xmatch::Radius::Fixed(f64::from_bits(bits)),
                    Reach::Left => skyglass_xmatch::Radius::PerRow { a: radii.as_ref(), b: None },
                    Reach::Right => skyglass_xmatch::Radius::PerRow { a: None, b: radii.as_ref() },
                };
                skyglass_xmatch::crossmatch(
                    skyglass_xmatch::Positions { ra: &left_points[0], dec: &left_points[1] },
                    skyglass_xmatch::Positions { ra: &right_points[0], dec: &right_points[1] },
                    radius,
                    skyglass_xmatch::Mode::All,
                )
            })
            .await
            .map_err(|e| DataFusionError::Execution(format!("the crossmatch stopped: {e}")))?
            .map_err(|e| DataFusionError::Execution(format!("crossmatch: {e}")))?;
            let mut batches = Vec::with_capacity(matches.len().div_ceil(BATCH_ROWS));
            for start in (0..matches.len()).step_by(BATCH_ROWS) {
                let end = (start + BATCH_ROWS).min(matches.len());
                let rows_a = UInt64Array::from_iter_values(matches.a[start..end].iter().map(|&r| r as u64));
                let rows_b = UInt64Array::from_iter_values(matches.b[start..end].iter().map(|r| r.unwrap_or(0) as u64));
                let mut columns = Vec::with_capacity(schema.fields().len());
                for column in left_batch.columns() {
                    columns.push(arrow_select::take::take(column, &rows_a, None)?);
                }
                for column in right_batch.columns() {
                    columns.push(arrow_select::take::take(column, &rows_b, None)?);
                }
                batches.push(Ok(RecordBatch::try_new(schema.clone(), columns)?));
            }
            Ok::<_, DataFusionError>(futures_util::stream::iter(batches))
        };
        use futures_util::TryStreamExt;
        let stream = futures_util::stream::once(pairs).try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(output_schema, stream)))
    }
}

/// All of an input, in one batch.
async fn collect_one(plan: Arc<dyn ExecutionPlan>, context: Arc<TaskContext>) -> Result<RecordBatch> {
    let schema = plan.schema();
    let batches = datafusion::physical_plan::collect(plan, context).await?;
    Ok(arrow_select::concat::concat_batches(&schema, &batches)?)
}

fn evaluate(expr: &Arc<dyn PhysicalExpr>, batch: &RecordBatch) -> Result<arrow_array::Float64Array> {
    let values = expr.evaluate(batch)?.into_array(batch.num_rows())?;
    skyglass_xmatch::to_float64(&values)
        .ok_or_else(|| DataFusionError::Plan(format!("positions must be numbers, not {}", values.data_type())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::datasource::MemTable;
    use datafusion::physical_plan::displayable;
    use std::io::Read;

    /// A bundled catalogue as a table of `ctx`, every `step`-th row.
    fn register(ctx: &SessionContext, file: &str, name: &str, step: usize) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/catalogs").join(file);
        let mut xml = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()).read_to_end(&mut xml).unwrap();
        let table =
            skyglass_votable::read_table(std::io::Cursor::new(xml), skyglass_votable::TableFormat::VoTable).unwrap();
        let all = arrow_select::concat::concat_batches(&table.schema, &table.batches).unwrap();
        let rows = UInt64Array::from_iter_values((0..all.num_rows() as u64).step_by(step));
        let columns = all.columns().iter().map(|c| arrow_select::take::take(c, &rows, None).unwrap()).collect();
        let batch = RecordBatch::try_new(table.schema.clone(), columns).unwrap();
        let memory = MemTable::try_new(table.schema.clone(), vec![vec![batch]]).unwrap();
        ctx.register_table(name, Arc::new(memory)).unwrap();
    }

    async fn run(ctx: &SessionContext, adql: &str) -> (String, Vec<(i64, i64)>) {
        let statement = skyglass_adql::translate(adql).unwrap();
        let state = ctx.state();
        let plan =
            state.statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(statement))).await.unwrap();
        let frame = datafusion::dataframe::DataFrame::new(state, plan);
        let physical = frame.clone().create_physical_plan().await.unwrap();
        let shown = displayable(physical.as_ref()).indent(false).to_string();
        let mut pairs = Vec::new();
        for batch in frame.collect().await.unwrap() {
            let ids = |i: usize| skyglass_xmatch::to_float64(batch.column(i)).unwrap();
            let (a, b) = (ids(0), ids(1));
            pairs.extend((0..batch.num_rows()).map(|r| (a.value(r) as i64, b.value(r) as i64)));
        }
        pairs.sort_unstable();
        (shown, pairs)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn crossmatch_idioms_become_sky_joins_with_the_nested_loops_answer() {
        let ctx = adql_session(SessionConfig::new());
        register(&ctx, "bsc5.vot.gz", "bsc", 1);
        register(&ctx, "hipparcos.vot.gz", "hip", 40);
        let queries = [
            // The circle around either table's rows, the point from the other.
            "SELECT b.hr, h.hip FROM bsc AS b JOIN hip AS h \
             ON 1 = CONTAINS(POINT('ICRS', b.ra, b.dec), CIRCLE('ICRS', h.ra, h.dec, 0.5))",
            "SELECT b.hr, h.hip FROM hip AS h JOIN bsc AS b ON CONTAINS(POINT(h.ra, h.dec), CIRCLE(b.ra, b.dec, 0.5)) = 1",
            // DISTANCE in WHERE, with another condition beside it.
            "SELECT b.hr, h.hip FROM bsc AS b, hip AS h \
             WHERE DISTANCE(POINT(b.ra, b.dec), POINT(h.ra, h.dec)) < 0.5 AND b.vmag < 4",
            "SELECT b.hr, h.hip FROM bsc AS b JOIN hip AS h ON 0.5 >= DISTANCE(b.ra, b.dec, h.ra, h.dec)",
            // A radius per row of either table (faint stars, larger circles).
            "SELECT b.hr, h.hip FROM bsc AS b JOIN hip AS h ON DISTANCE(b.ra, b.dec, h.ra, h.dec) < b.vmag / 10",
            "SELECT b.hr, h.hip FROM bsc AS b JOIN hip AS h \
             ON 1 = CONTAINS(POINT(b.ra, b.dec), CIRCLE(h.ra, h.dec, h.hpmag / 20))",
        ];
        for adql in queries {
            let (plan, pairs) = run(&ctx, adql).await;
            assert!(plan.contains("SkyJoinExec") && !plan.contains("NestedLoopJoinExec"), "{adql}\n{plan}");
            ctx.remove_optimizer_rule("sky_join");
            let (loop_plan, expected) = run(&ctx, adql).await;
            ctx.add_optimizer_rule(Arc::new(SkyJoinRule));
            assert!(loop_plan.contains("NestedLoopJoinExec"), "{loop_plan}");
            assert!(pairs.len() > 40, "{adql}: {} pairs", pairs.len());
            assert_eq!(pairs, expected, "{adql}");
        }
        // Not a crossmatch: a radius from both tables, or both points from one table.
        for adql in [
            "SELECT b.hr, h.hip FROM bsc AS b JOIN hip AS h ON DISTANCE(b.ra, b.dec, h.ra, h.dec) < b.vmag / h.hpmag",
            "SELECT b.hr, h.hip FROM bsc AS b JOIN hip AS h ON DISTANCE(b.ra, b.dec, b.ra + 1, b.dec) < 0.5 AND h.hip = b.hr",
        ] {
            let (plan, _) = run(&ctx, adql).await;
            assert!(!plan.contains("SkyJoinExec"), "{adql}\n{plan}");
        }
    }
}

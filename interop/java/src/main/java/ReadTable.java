import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.BaseTable;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.SnapshotRef;
import org.apache.iceberg.StaticTableOperations;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.expressions.Expression;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.hadoop.HadoopFileIO;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;
import org.apache.iceberg.util.SnapshotUtil;

/**
 * Reads a datashard table with Iceberg Java, from one metadata JSON file, and prints one JSON
 * document on stdout:
 *
 * <pre>
 *   java -cp target/classes:$(cat target/classpath.txt) ReadTable META.json SUM_COLUMN [COL OP VALUE]
 * </pre>
 *
 * <p>For every snapshot the metadata keeps: its id, parent, sequence number, operation, schema id,
 * the rows {@code IcebergGenerics.read(table).useSnapshot(id)} returns, the sum and the non-null
 * count of SUM_COLUMN (null if that snapshot's schema has no such column), the data files planned,
 * and, with a filter (OP one of {@code < <= > >= ==}, SQL semantics: null never matches), the rows
 * matching it and the data files planned for it. Also the refs (name,
 * type, snapshot id), the current snapshot, the schemas and the partition specs. The table is
 * opened with {@link StaticTableOperations} over {@link HadoopFileIO} on the local file system: no
 * catalog and no version-hint file are involved.
 */
public final class ReadTable {
  private ReadTable() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 2 && args.length != 5) {
      System.err.println("usage: ReadTable METADATA_JSON SUM_COLUMN [FILTER_COLUMN OP VALUE]");
      System.exit(2);
    }
    String metadataLocation = args[0];
    String sumColumn = args[1];
    HadoopFileIO io = new HadoopFileIO(new Configuration());
    Table table = new BaseTable(new StaticTableOperations(metadataLocation, io), "datashard");

    StringBuilder out = new StringBuilder();
    out.append("{\"metadata_location\":").append(str(metadataLocation));
    out.append(",\"format_version\":").append(((BaseTable) table).operations().current().formatVersion());
    out.append(",\"location\":").append(str(table.location()));
    out.append(",\"uuid\":").append(str(table.uuid().toString()));
    Snapshot current = table.currentSnapshot();
    out.append(",\"current_snapshot_id\":").append(current == null ? "null" : current.snapshotId());
    out.append(",\"current_schema_id\":").append(table.schema().schemaId());
    out.append(",\"schema_columns\":").append(columns(table.schema()));

    out.append(",\"specs\":[");
    boolean first = true;
    for (PartitionSpec spec : table.specs().values()) {
      out.append(first ? "" : ",").append("{\"spec_id\":").append(spec.specId());
      out.append(",\"fields\":[");
      for (int i = 0; i < spec.fields().size(); i++) {
        out.append(i == 0 ? "" : ",").append(str(spec.fields().get(i).name() + "=" + spec.fields().get(i).transform()));
      }
      out.append("]}");
      first = false;
    }
    out.append("]");

    out.append(",\"snapshots\":[");
    first = true;
    for (Snapshot snap : table.snapshots()) {
      out.append(first ? "" : ",");
      first = false;
      long id = snap.snapshotId();
      Schema schema = SnapshotUtil.schemaFor(table, id);
      out.append("{\"snapshot_id\":").append(id);
      out.append(",\"parent_id\":").append(snap.parentId() == null ? "null" : snap.parentId());
      out.append(",\"sequence_number\":").append(snap.sequenceNumber());
      out.append(",\"operation\":").append(str(snap.operation()));
      out.append(",\"schema_id\":").append(snap.schemaId() == null ? "null" : snap.schemaId());
      out.append(",\"summary_total_records\":").append(
          snap.summary().containsKey("total-records") ? snap.summary().get("total-records") : "null");
      out.append(",\"schema_columns\":").append(columns(schema));

      int files = 0;
      long plannedRecords = 0;
      try (CloseableIterable<FileScanTask> tasks = table.newScan().useSnapshot(id).planFiles()) {
        for (FileScanTask task : tasks) {
          files++;
          plannedRecords += task.file().recordCount();
        }
      }
      out.append(",\"data_files\":").append(files);
      out.append(",\"planned_records\":").append(plannedRecords);

      Types.NestedField sumField = schema.findField(sumColumn);
      long rows = 0;
      long nonNull = 0;
      BigDecimal sum = BigDecimal.ZERO;
      try (CloseableIterable<Record> records = IcebergGenerics.read(table).useSnapshot(id).build()) {
        for (Record r : records) {
          rows++;
          if (sumField != null) {
            Object v = r.getField(sumField.name());
            if (v != null) {
              nonNull++;
              sum = sum.add(toDecimal(v));
            }
          }
        }
      }
      out.append(",\"rows\":").append(rows);
      out.append(",\"sum_column\":").append(sumField == null ? "null" : str(sumField.name()));
      out.append(",\"sum\":").append(sumField == null ? "null" : sum.toPlainString());
      out.append(",\"non_null\":").append(sumField == null ? "null" : nonNull);

      if (args.length == 5) {
        Types.NestedField filterField = schema.findField(args[2]);
        if (filterField == null) {
          out.append(",\"filtered_rows\":null");
        } else {
          // SQL semantics: a comparison never matches null. (Iceberg's generic record Evaluator
          // orders null first, so on its own "c < 100" would also return the rows where c is null.)
          Expression where =
              Expressions.and(
                  Expressions.notNull(args[2]),
                  predicate(args[2], args[3], parse(filterField.type(), args[4])));
          long matched = 0;
          try (CloseableIterable<Record> records =
              IcebergGenerics.read(table).useSnapshot(id).where(where).build()) {
            for (Record ignored : records) {
              matched++;
            }
          }
          int filesMatched = 0;
          try (CloseableIterable<FileScanTask> tasks =
              table.newScan().useSnapshot(id).filter(where).planFiles()) {
            for (FileScanTask ignored : tasks) {
              filesMatched++;
            }
          }
          out.append(",\"filtered_rows\":").append(matched);
          out.append(",\"filtered_files\":").append(filesMatched);
        }
      }
      out.append("}");
    }
    out.append("]");

    out.append(",\"refs\":{");
    first = true;
    for (Map.Entry<String, SnapshotRef> ref : table.refs().entrySet()) {
      out.append(first ? "" : ",");
      first = false;
      out.append(str(ref.getKey())).append(":{\"type\":")
          .append(str(ref.getValue().isTag() ? "tag" : "branch"))
          .append(",\"snapshot_id\":").append(ref.getValue().snapshotId()).append("}");
    }
    out.append("}}");
    System.out.println(out);
  }

  private static String columns(Schema schema) {
    List<String> names = new ArrayList<>();
    for (Types.NestedField f : schema.columns()) {
      names.add(str(f.name()));
    }
    return "[" + String.join(",", names) + "]";
  }

  private static BigDecimal toDecimal(Object v) {
    if (v instanceof BigDecimal) {
      return (BigDecimal) v;
    }
    if (v instanceof Float || v instanceof Double) {
      return BigDecimal.valueOf(((Number) v).doubleValue());
    }
    if (v instanceof Number) {
      return BigDecimal.valueOf(((Number) v).longValue());
    }
    throw new IllegalArgumentException("not a number: " + v.getClass().getName());
  }

  private static Object parse(Type type, String text) {
    switch (type.typeId()) {
      case INTEGER:
        return Integer.parseInt(text);
      case LONG:
        return Long.parseLong(text);
      case FLOAT:
        return Float.parseFloat(text);
      case DOUBLE:
        return Double.parseDouble(text);
      case DECIMAL:
        return new BigDecimal(text);
      case STRING:
        return text;
      case DATE:
      case TIMESTAMP:
        return text; // Iceberg converts ISO literals to the column's type
      default:
        throw new IllegalArgumentException("filter on " + type + " not supported");
    }
  }

  private static Expression predicate(String column, String op, Object value) {
    switch (op) {
      case "<":
        return Expressions.lessThan(column, value);
      case "<=":
        return Expressions.lessThanOrEqual(column, value);
      case ">":
        return Expressions.greaterThan(column, value);
      case ">=":
        return Expressions.greaterThanOrEqual(column, value);
      case "==":
        return Expressions.equal(column, value);
      default:
        throw new IllegalArgumentException("unknown operator " + op);
    }
  }

  private static String str(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20) {
        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append('"').toString();
  }
}

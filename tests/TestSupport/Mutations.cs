using CsCheck;

namespace DSConvService.TestSupport;

/// <summary>
/// Mutated copies of a valid input, as a fuzzer makes them: bit flips, overwritten bytes, inserted,
/// deleted and duplicated ranges, truncation. Each mutant is a pure function of its generated
/// operations, so CsCheck can shrink a failing one to a small change.
/// </summary>
public static class Mutations
{
    private enum Op { FlipBit, SetByte, Insert, Delete, Truncate, Duplicate }

    public static Gen<byte[]> Of(params byte[][] seeds) =>
        Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Select(Gen.Int[0, 5], Gen.Int[0, int.MaxValue], Gen.Int[1, 256], Gen.Byte).Array[1, 6])
            .Select((seed, ops) => Apply(seeds[seed], ops));

    /// <summary>Text mutated byte-wise, then read as UTF-8 (invalid sequences become replacement characters, as a server reads them).</summary>
    public static Gen<string> OfText(params string[] seeds) =>
        Of(seeds.Select(System.Text.Encoding.UTF8.GetBytes).ToArray()).Select(b => System.Text.Encoding.UTF8.GetString(b));

    private static byte[] Apply(byte[] seed, (int Op, int Position, int Length, byte Value)[] ops)
    {
        var data = new List<byte>(seed);
        foreach (var (op, position, length, value) in ops)
        {
            if (data.Count == 0)
            {
                data.Add(value);
                continue;
            }
            var at = position % data.Count;
            var span = Math.Min(length, data.Count - at);
            switch ((Op)op)
            {
                case Op.FlipBit:
                    data[at] ^= (byte)(1 << (value & 7));
                    break;
                case Op.SetByte:
                    data[at] = value;
                    break;
                case Op.Insert:
                    data.InsertRange(at, Enumerable.Range(0, length).Select(i => (byte)(value + i * 31)));
                    break;
                case Op.Delete:
                    data.RemoveRange(at, span);
                    break;
                case Op.Truncate:
                    data.RemoveRange(at, data.Count - at);
                    break;
                case Op.Duplicate:
                    data.InsertRange(at, data.GetRange(at, span));
                    break;
            }
        }
        return data.ToArray();
    }
}

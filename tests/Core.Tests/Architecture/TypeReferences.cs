using System.Reflection;
using System.Reflection.Emit;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Tests.Architecture;

/// <summary>
/// The types one type uses, read by reflection: base type, interfaces, fields, properties, method
/// signatures, locals, and every type, method and field token in the IL of its method bodies (so a
/// call like <c>CpuParallel.For(...)</c> counts even without a using directive). Nested and
/// compiler-generated types (lambdas, iterators) count as their outermost declaring type.
/// </summary>
internal static class TypeReferences
{
    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    public static Type Outermost(Type t)
    {
        while (t.DeclaringType is not null)
        {
            t = t.DeclaringType;
        }
        return t;
    }

    /// <summary>Every type <paramref name="type"/> (with its nested types) refers to, as outermost types of any assembly.</summary>
    public static HashSet<Type> Of(Type type)
    {
        var found = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t is null || t.IsGenericParameter)
            {
                return;
            }
            if (t.HasElementType)
            {
                Add(t.GetElementType());
                return;
            }
            if (t.IsGenericType && !t.IsGenericTypeDefinition)
            {
                foreach (var a in t.GetGenericArguments())
                {
                    Add(a);
                }
                Add(t.GetGenericTypeDefinition());
                return;
            }
            found.Add(Outermost(t));
        }

        Add(type.BaseType);
        foreach (var i in type.GetInterfaces())
        {
            Add(i);
        }
        foreach (var f in type.GetFields(All))
        {
            Add(f.FieldType);
        }
        foreach (var p in type.GetProperties(All))
        {
            Add(p.PropertyType);
        }
        foreach (var m in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            if (m is MethodInfo mi)
            {
                Add(mi.ReturnType);
            }
            foreach (var p in m.GetParameters())
            {
                Add(p.ParameterType);
            }
            foreach (var a in m.CustomAttributes)
            {
                Add(a.AttributeType);
            }
            Body(m, Add);
        }
        foreach (var a in type.CustomAttributes)
        {
            Add(a.AttributeType);
        }
        foreach (var nested in type.GetNestedTypes(All))
        {
            found.UnionWith(Of(nested));
        }
        return found;
    }

    private static void Body(MethodBase m, Action<Type?> add)
    {
        var body = m.GetMethodBody();
        if (body is null)
        {
            return;
        }
        foreach (var local in body.LocalVariables)
        {
            add(local.LocalType);
        }
        var il = body.GetILAsByteArray() ?? [];
        var typeArgs = m.DeclaringType?.IsGenericType == true ? m.DeclaringType.GetGenericArguments() : null;
        var methodArgs = m.IsGenericMethod ? m.GetGenericArguments() : null;
        for (var i = 0; i < il.Length;)
        {
            short value = il[i++];
            if (value == 0xFE)
            {
                value = unchecked((short)(0xFE00 | il[i++]));
            }
            var op = OpCodesByValue[value];
            switch (op.OperandType)
            {
                case OperandType.InlineType:
                case OperandType.InlineTok:
                case OperandType.InlineMethod:
                case OperandType.InlineField:
                    var token = BitConverter.ToInt32(il, i);
                    var member = m.Module.ResolveMember(token, typeArgs, methodArgs);
                    add(member as Type ?? member?.DeclaringType);
                    if (member is FieldInfo fi)
                    {
                        add(fi.FieldType);
                    }
                    if (member is MethodInfo { IsGenericMethod: true } gm)
                    {
                        foreach (var a in gm.GetGenericArguments())
                        {
                            add(a);
                        }
                    }
                    i += 4;
                    break;
                case OperandType.InlineSwitch:
                    i += 4 + 4 * BitConverter.ToInt32(il, i);
                    break;
                default:
                    i += OperandSize(op.OperandType);
                    break;
            }
        }
    }

    private static int OperandSize(OperandType t) => t switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        _ => 4,
    };
}

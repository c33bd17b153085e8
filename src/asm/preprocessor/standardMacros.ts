/**
 * The standard macros every nasm source sees, from nasm 2.16.01's macros/standard.mac (the
 * "nasm" set) and output/outbin.mac (the bin format), as nasm itself loads them before the
 * first line. They turn the user-level directives into the primitive bracketed forms the
 * assembler handles: `section .text` -> `[section .text]`, `struc`/`endstruc` -> `[absolute 0]`,
 * labels and `equ`, `align 4` -> `[sectalign 4]` + `times ... nop`, and so on.
 *
 * Left out: the version, date and time macros, the floating-point and string-function aliases,
 * and `incbin` (which nasm turns into `incbin "path",0` after a path search; the assembler
 * resolves the file itself).
 */

export const STANDARD_MACROS_FILE = '<nasm standard macros>';

export const STANDARD_MACROS = String.raw`
%define __?SECT?__
%defalias __SECT__ __?SECT?__

%imacro section 1+.nolist
    %define __?SECT?__ [section %1]
    __?SECT?__
%endmacro

%imacro segment 1+.nolist
    %define __?SECT?__ [segment %1]
    __?SECT?__
%endmacro

%define __?SECTALIGN_ALIGN_UPDATES_SECTION?__ 1
%imacro sectalign 1+.nolist
    %ifidni %1,off
        %define __?SECTALIGN_ALIGN_UPDATES_SECTION?__ 0
    %elifidni %1,on
        %define __?SECTALIGN_ALIGN_UPDATES_SECTION?__ 1
    %else
        [sectalign %1]
    %endif
%endmacro
%defalias __SECTALIGN_ALIGN_UPDATES_SECTION__ __?SECTALIGN_ALIGN_UPDATES_SECTION?__

%imacro absolute 1+.nolist
    %define __?SECT?__ [absolute %1]
    __?SECT?__
%endmacro

%imacro struc 1-2.nolist 0
    %push
        %define %$strucname %1
        [absolute %2]
        %$strucname:
%endmacro

%imacro endstruc 0.nolist
        %{$strucname}_size equ ($-%$strucname)
    %pop
    __?SECT?__
%endmacro

%imacro istruc 1.nolist
    %push
        %define %$strucname %1
        %$strucstart:
%endmacro

%imacro at 1-2+.nolist
    %defstr %$member %1
    %substr %$member1 %$member 1
    %ifidn %$member1, '.'
        times (%$strucname%1-%$strucname)-($-%$strucstart) db 0
    %else
        times (%1-%$strucname)-($-%$strucstart) db 0
    %endif
    %2
%endmacro

%imacro iend 0.nolist
        times %{$strucname}_size-($-%$strucstart) db 0
    %pop
%endmacro

%imacro align 1-2+.nolist nop
    %if __?SECTALIGN_ALIGN_UPDATES_SECTION?__
        sectalign %1
    %endif
    times (((%1) - (($-$$) % (%1))) % (%1)) %2
%endmacro

%imacro alignb 1-2+.nolist
    %if __?SECTALIGN_ALIGN_UPDATES_SECTION?__
        sectalign %1
    %endif
    %ifempty %2
        [warning push]
        [warning -zeroing]
        resb (((%1) - (($-$$) % (%1))) % (%1))
        [warning pop]
    %else
        times (((%1) - (($-$$) % (%1))) % (%1)) %2
    %endif
%endmacro

%imacro bits 1+.nolist
    [bits %1]
%endmacro

%imacro use16 0.nolist
    [bits 16]
%endmacro

%imacro use32 0.nolist
    [bits 32]
%endmacro

%imacro use64 0.nolist
    [bits 64]
%endmacro

%imacro extern 1-*.nolist
    %rep %0
        [extern %1]
        %rotate 1
    %endrep
%endmacro

%imacro static 1-*.nolist
    %rep %0
        [static %1]
        %rotate 1
    %endrep
%endmacro

%imacro global 1-*.nolist
    %rep %0
        [global %1]
        %rotate 1
    %endrep
%endmacro

%imacro required 1-*.nolist
    %rep %0
        [required %1]
        %rotate 1
    %endrep
%endmacro

%imacro common 1-*.nolist
    %rep %0
        [common %1]
        %rotate 1
    %endrep
%endmacro

%imacro cpu 1+.nolist
    [cpu %1]
%endmacro

%define __?FLOAT_DAZ?__ nodaz
%define __?FLOAT_ROUND?__ near
%define __?FLOAT?__ __?FLOAT_DAZ?__,__?FLOAT_ROUND?__

%defalias __FLOAT_DAZ__ __?FLOAT_DAZ?__
%defalias __FLOAT_ROUND__ __?FLOAT_ROUND?__
%defalias __FLOAT__ __?FLOAT?__

%imacro float 1-*.nolist
    %rep %0
        [float %1]
        %ifidni %1,daz
            %define __?FLOAT_DAZ?__ daz
        %elifidni %1,nodaz
            %define __?FLOAT_DAZ?__ nodaz
        %elifidni %1,near
            %define __?FLOAT_ROUND?__ near
        %elifidni %1,up
            %define __?FLOAT_ROUND?__ up
        %elifidni %1,down
            %define __?FLOAT_ROUND?__ down
        %elifidni %1,zero
            %define __?FLOAT_ROUND?__ zero
        %elifidni %1,default
            %define __?FLOAT_DAZ?__ nodaz
            %define __?FLOAT_ROUND?__ near
        %endif
        %rotate 1
    %endrep
%endmacro

%imacro default 1+.nolist
    [default %1]
%endmacro

%imacro userel 0.nolist
    [default rel]
%endmacro
%imacro useabs 0.nolist
    [default abs]
%endmacro
%imacro usebnd 0.nolist
    [default bnd]
%endmacro
%imacro usenobnd 0.nolist
    [default nobnd]
%endmacro

%defalias __OUTPUT_FORMAT__   __?OUTPUT_FORMAT?__
%defalias __FILE__            __?FILE?__
%defalias __LINE__            __?LINE?__
%defalias __BITS__            __?BITS?__
%defalias __PTR__             __?PTR?__

%define __?SECT?__ [section .text]
%imacro org 1+.nolist
[org %1]
%endmacro

%define __?OUTPUT_FORMAT?__ bin
`;
